// The `csv_log` callback (csv_log_callback.h).
#include "csv_log_callback.h"

#include <filesystem>

#include <trl/sdk/error.h>
#include <trl/sdk/log.h>
#include <trl/sdk/train/loop.h>
#include <trl/sdk/train/training_args.h>

namespace my_plugin {
namespace {

std::string cell(const nlohmann::json& logs, const std::string& key) {
  const auto it = logs.find(key);
  if (it == logs.end() || it->is_null()) return "";
  return csv_field(it->is_string() ? it->get<std::string>() : it->dump());
}

}  // namespace

trl::ParamTable csv_log_params() {
  trl::ParamTable t;
  t.add("metrics", trl::ParamType::string_list, nlohmann::json::array({"loss", "grad_norm", "learning_rate"}),
        "logged metrics to write, one column each (e.g. eval_loss, rewards/accuracies)")
      .accept_single();
  t.add("path", trl::ParamType::string, nullptr, "the CSV file; null = {output_dir}/metrics.csv");
  return t;
}

CsvLogCallback::CsvLogCallback(const trl::Args& args)
    : metrics_(args.strings("metrics")), path_(args.optional_string("path").value_or("")) {
  if (metrics_.empty()) args.fail("metrics", "expected at least one metric name");
  for (const std::string& m : metrics_)
    if (m == "step" || m == "epoch") args.fail("metrics", "'" + m + "' is always the first columns; leave it out");
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string csv_header(const std::vector<std::string>& metrics) {
  std::string line = "step,epoch";
  for (const std::string& m : metrics) {
    // Two appends, not "," + csv_field(m): GCC 12 in C++20 mode (LibTorch 2.x's headers ask for it) warns
    // falsely (-Wrestrict) on operator+(const char*, std::string&&).
    line += ',';
    line += csv_field(m);
  }
  return line;
}

std::string csv_row(const nlohmann::json& logs, const std::vector<std::string>& metrics) {
  bool any = false;
  std::string line = cell(logs, "step") + "," + cell(logs, "epoch");
  for (const std::string& m : metrics) {
    const std::string value = cell(logs, m);
    any = any || !value.empty();
    line += "," + value;
  }
  return any ? line : "";
}

void CsvLogCallback::on_train_begin(trl::CallbackArgs& args) {
  open_path_ = path_.empty() ? args.args.output_dir + "/metrics.csv" : path_;
  const bool append = args.state.global_step > 0 && std::filesystem::exists(open_path_);
  out_.open(open_path_, append ? std::ios::app : std::ios::trunc);
  // An unwritable file is the user's to fix (a path, a permission): a ConfigError naming the key, exit 2.
  if (!out_) throw trl::ConfigError("csv_log", "path", "cannot open " + open_path_ + " for writing");
  if (!append) out_ << csv_header(metrics_) << "\n" << std::flush;
  trl::log::info("csv_log: writing " + open_path_);
}

void CsvLogCallback::on_log(trl::CallbackArgs&, const nlohmann::json& logs) {
  if (!out_.is_open()) return;
  const std::string row = csv_row(logs, metrics_);
  if (row.empty()) return;
  out_ << row << "\n" << std::flush;
  if (!out_) throw trl::ConfigError("csv_log", "path", "writing " + open_path_ + " failed");
}

void CsvLogCallback::on_train_end(trl::CallbackArgs&) { out_.close(); }

}  // namespace my_plugin
