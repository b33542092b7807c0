// gfpo_trainer_log.h: what the gfpo trainer reports about its completions: the completions/* metrics of a
// generation batch (spec §3.5 "From generation") and the completions.jsonl sample log in output_dir.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace trl::gfpo {

/// completions/mean_length, /min_length, /max_length over every completion's token count (the raw lengths,
/// before truncation masking), completions/clipped_ratio (share truncated), and
/// completions/mean_terminated_length, /min_terminated_length, /max_terminated_length over the completions
/// that ended with EOS (all 0 when none did). Measured on the unfiltered batch (spec §4.2).
std::vector<std::pair<std::string, double>> completion_metrics(const std::vector<std::vector<int64_t>>& completion_ids,
                                                               const std::vector<bool>& truncated);
/// completion_metrics from the completion lengths alone (a data-parallel job gathers only the lengths).
std::vector<std::pair<std::string, double>> completion_length_metrics(const std::vector<int64_t>& lengths,
                                                                      const std::vector<bool>& truncated);

/// output_dir/completions.jsonl: at each logging step, the rows of the newest generation batch not yet
/// written, one JSON object per completion: {"step", "generation", "prompt", "completion", "rewards":
/// {name: value or null}, "reward", "advantage" (null for a row the filter dropped), "kept", "length",
/// "truncated"}. A fresh run starts the file empty; a resumed run keeps the rows up to the resumed step.
class CompletionsLog {
 public:
  /// Writes to `path` (nothing is opened until the first write).
  explicit CompletionsLog(std::string path = "");
  /// The file this log writes.
  const std::string& path() const { return path_; }
  /// Holds the rows of generation `generation` until the next write (replacing older pending rows).
  void record(int64_t generation, std::vector<nlohmann::json> rows);
  /// Appends the pending rows with "step": `step`, unless this generation was already written; returns the
  /// number of rows written.
  size_t write_pending(int64_t step);
  /// What a checkpoint must keep to continue the log exactly: the pending rows and which generation was
  /// written last.
  nlohmann::json state() const;
  /// For a resumed run: restores state() and drops the rows of steps after `step` from the file (an
  /// interrupted run may have logged past its checkpoint). Throws CheckpointError naming `source` when
  /// `state` is not what state() writes.
  void resume(const nlohmann::json& state, int64_t step, const std::string& source);
  /// The newest generation written so far (-1 if none).
  int64_t last_written_generation() const { return written_generation_; }

 private:
  std::string path_;
  bool started_ = false;  ///< whether the file was truncated (fresh run) or trimmed (resume) already
  int64_t pending_generation_ = -1;
  int64_t written_generation_ = -1;
  std::vector<nlohmann::json> pending_;
};

}  // namespace trl::gfpo
