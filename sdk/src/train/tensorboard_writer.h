// TensorBoard event files: with report_to "tensorboard" (or "all") every log entry of a run also goes to
// the logging dir (default output_dir/runs/<Mon DD_HH-MM-SS>_<host>, as transformers' TensorBoardCallback)
// as scalar summaries, so `tensorboard --logdir output_dir/runs` shows the curves without Python or
// TensorFlow in the loop. Tags are transformers' rewrite_logs names: "eval_x" -> "eval/x", "test_x" ->
// "test/x", anything else "x" -> "train/x".
//
// The format (tensorflow/core/util/event.proto, summary.proto; record framing of
// tensorflow/core/lib/io/record_writer.cc), encoded by hand since it is three small messages:
//   record = uint64 length | uint32 masked_crc32c(length) | data | uint32 masked_crc32c(data)  (little endian)
//   Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
//   Summary { repeated Value value = 1; }   Value { string tag = 1; float simple_value = 2; }
// The first record is an Event with file_version "brain.Event:2", as TensorFlow and PyTorch write.
#pragma once

#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace trl {

/// transformers' default_logdir() under output_dir: output_dir/runs/<%b%d_%H-%M-%S>_<hostname>, local time,
/// e.g. "out/runs/Nov25_21-38-54_box" (the month in the C locale, as Python's strftime without setlocale).
std::string default_logging_dir(const std::string& output_dir);

/// The folder a run's event file goes to: `logging_dir` when given (transformers 4.x's argument), else the
/// TENSORBOARD_LOGGING_DIR environment variable when set and non-empty (transformers 5's way), else
/// default_logging_dir(output_dir). A leading "~/" is expanded as transformers' expanduser does.
std::string tensorboard_logging_dir(const std::optional<std::string>& logging_dir, const std::string& output_dir);

/// The TensorBoard tag of a metrics.jsonl key, transformers' rewrite_logs: "eval_loss" -> "eval/loss",
/// "test_x" -> "test/x", "loss" -> "train/loss".
std::string tensorboard_tag(const std::string& key);

/// One TFRecord: the framing around `data` (length, masked CRCs).
std::string tfrecord(const std::string& data);

/// The serialized Event of the first record: wall_time and file_version "brain.Event:2".
std::string file_version_event(double wall_time);

/// A serialized Event with one Summary.Value (tag, simple_value) per scalar, in the given order.
std::string scalars_event(double wall_time, int64_t step, const std::vector<std::pair<std::string, float>>& scalars);

/// Appends log entries to a new event file in one folder; each write is flushed so a crash loses nothing.
class TensorBoardWriter {
 public:
  /// Creates `dir` (and its parents) and the file events.out.tfevents.<unix seconds>.<host>.<pid>.<n> in it
  /// (PyTorch's SummaryWriter naming; n counts this process's writers). Then writes the file_version event.
  /// Throws ConfigError naming logging_dir and the file when it cannot be created.
  explicit TensorBoardWriter(const std::string& dir);

  /// Writes one Event at `step` (the global step) holding every number in `entry` under its tensorboard_tag:
  /// JSON null (a NaN metric in metrics.jsonl) becomes NaN; the key "step" and non-numbers are skipped.
  void write(int64_t step, const nlohmann::json& entry);

  /// The event file's path.
  const std::string& path() const { return path_; }

 private:
  void append(const std::string& event);

  std::string path_;
  std::ofstream out_;
};

}  // namespace trl
