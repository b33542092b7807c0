// Completion metrics and the completions.jsonl log of the gfpo trainer (see gfpo_trainer_log.h).
#include "gfpo_trainer_log.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "trl/sdk/error.h"

namespace trl::gfpo {

namespace {

struct LengthStats {
  double mean = 0.0, min = 0.0, max = 0.0;
};

LengthStats stats_of(const std::vector<double>& lengths) {
  LengthStats s;
  if (lengths.empty()) return s;  // TRL logs 0 when no completion terminated
  double sum = 0.0;
  for (double v : lengths) sum += v;
  s.mean = sum / static_cast<double>(lengths.size());
  s.min = *std::min_element(lengths.begin(), lengths.end());
  s.max = *std::max_element(lengths.begin(), lengths.end());
  return s;
}

}  // namespace

std::vector<std::pair<std::string, double>> completion_metrics(const std::vector<std::vector<int64_t>>& completion_ids,
                                                               const std::vector<bool>& truncated) {
  std::vector<int64_t> lengths;
  lengths.reserve(completion_ids.size());
  for (const auto& ids : completion_ids) lengths.push_back(static_cast<int64_t>(ids.size()));
  return completion_length_metrics(lengths, truncated);
}

std::vector<std::pair<std::string, double>> completion_length_metrics(const std::vector<int64_t>& lengths,
                                                                      const std::vector<bool>& truncated) {
  TRL_INTERNAL_ASSERT(lengths.size() == truncated.size(), "one truncation flag per completion");
  std::vector<double> all, terminated;
  double clipped = 0.0;
  for (size_t i = 0; i < lengths.size(); ++i) {
    const double length = static_cast<double>(lengths[i]);
    all.push_back(length);
    if (truncated[i]) clipped += 1.0;
    else terminated.push_back(length);
  }
  const LengthStats a = stats_of(all), t = stats_of(terminated);
  return {{"completions/mean_length", a.mean},
          {"completions/min_length", a.min},
          {"completions/max_length", a.max},
          {"completions/clipped_ratio", all.empty() ? 0.0 : clipped / static_cast<double>(all.size())},
          {"completions/mean_terminated_length", t.mean},
          {"completions/min_terminated_length", t.min},
          {"completions/max_terminated_length", t.max}};
}

CompletionsLog::CompletionsLog(std::string path) : path_(std::move(path)) {}

void CompletionsLog::record(int64_t generation, std::vector<nlohmann::json> rows) {
  pending_generation_ = generation;
  pending_ = std::move(rows);
}

size_t CompletionsLog::write_pending(int64_t step) {
  if (path_.empty() || pending_generation_ < 0 || pending_generation_ == written_generation_) return 0;
  std::ofstream out(path_, started_ ? std::ios::app : std::ios::trunc);
  if (!out) throw ConfigError("args", "output_dir", "cannot write " + path_);
  started_ = true;
  for (nlohmann::json row : pending_) {
    row["step"] = step;
    out << row.dump() << "\n";
  }
  out.flush();
  written_generation_ = pending_generation_;
  return pending_.size();
}

nlohmann::json CompletionsLog::state() const {
  return {{"pending_generation", pending_generation_}, {"pending", pending_}, {"written_generation", written_generation_}};
}

void CompletionsLog::resume(const nlohmann::json& state, int64_t step, const std::string& source) {
  try {
    pending_generation_ = state.at("pending_generation").get<int64_t>();
    pending_ = state.at("pending").get<std::vector<nlohmann::json>>();
    written_generation_ = state.at("written_generation").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    throw CheckpointError(source, std::string("bad completions log state: ") + e.what());
  }
  started_ = true;
  if (path_.empty() || !std::filesystem::exists(path_)) return;
  std::ifstream in(path_);
  std::ostringstream kept;
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json row = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    // A torn last line of an interrupted run, or rows past the checkpoint, are dropped.
    if (row.is_object() && row.value("step", int64_t{0}) <= step) kept << line << "\n";
  }
  in.close();
  std::ofstream(path_, std::ios::trunc) << kept.str();
}

}  // namespace trl::gfpo
