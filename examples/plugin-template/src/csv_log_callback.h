// csv_log_callback.h: the `csv_log` callback: chosen metrics of every log step as one CSV row, for a
// spreadsheet or a plotting script, next to the run's metrics.jsonl.
//
// Columns: step, epoch, then the metrics asked for, in that order. A logged object that holds none of
// them (e.g. the final summary when only training metrics are asked for) writes no row; a metric missing
// from a row leaves its cell empty. Values are written exactly as metrics.jsonl writes them. A resumed
// run appends to the file of the run it resumes; a fresh run starts the file over.
#pragma once

#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <trl/sdk/params.h>
#include <trl/sdk/plugin.h>

namespace my_plugin {

/// The callback's declared parameters: metrics, path.
trl::ParamTable csv_log_params();

/// Writes a CSV row on each on_log.
class CsvLogCallback : public trl::Callback {
 public:
  /// Reads validated csv_log_params() values; a ConfigError naming `metrics` if the list is empty.
  explicit CsvLogCallback(const trl::Args& args);

  /// Opens the file ({output_dir}/metrics.csv unless `path` is set): truncates it and writes the header,
  /// or appends when the run resumed (global_step > 0) and the file exists.
  void on_train_begin(trl::CallbackArgs& args) override;
  /// Appends one row if `logs` holds at least one of the chosen metrics; flushed at once.
  void on_log(trl::CallbackArgs& args, const nlohmann::json& logs) override;
  /// Closes the file.
  void on_train_end(trl::CallbackArgs& args) override;

 private:
  std::vector<std::string> metrics_;
  std::string path_;       ///< as configured; empty = {output_dir}/metrics.csv
  std::string open_path_;  ///< the file being written, for messages
  std::ofstream out_;
};

/// One CSV field: quoted (RFC 4180) when it holds a comma, a quote or a line break.
std::string csv_field(const std::string& text);

/// The header line (no newline): step,epoch,<metrics...>.
std::string csv_header(const std::vector<std::string>& metrics);

/// The row of one logged object (no newline), or "" when it holds none of `metrics`. Numbers are written as
/// nlohmann::json writes them (shortest round-trip form, the same text as metrics.jsonl).
std::string csv_row(const nlohmann::json& logs, const std::vector<std::string>& metrics);

}  // namespace my_plugin
