// What the gfpo trainer exchanges between data-parallel ranks (see gfpo_trainer_dist.h).
#include "gfpo_trainer_dist.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "trl/sdk/dist/process_group.h"
#include "trl/sdk/error.h"

namespace trl::gfpo {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The weighted loss metrics, in grpo_loss's order; low_min and high_max follow them.
std::vector<std::string> weighted_metric_names(const GrpoLossConfig& config) {
  std::vector<std::string> names;
  if (config.entropy_bonus) names.emplace_back("policy_loss");
  if (config.beta != 0.0) names.emplace_back("kl");
  names.emplace_back("entropy");
  if (clipped_objective(config.loss_type))
    for (const char* name : {"clip_ratio/low_mean", "clip_ratio/high_mean", "clip_ratio/region_mean"})
      names.emplace_back(name);
  if (config.loss_type == LossType::cispo) names.emplace_back("cispo_clip_ratio");
  if (config.loss_type == LossType::vespo) names.emplace_back("vespo/phi_seq_mean");
  return names;
}

// What a rank's value of a weighted metric is weighted by (TRL 1.16's global_masked_mean): its tokens for
// token means, its rows for one value per row (the clip flags at sequence level, vespo's weights), and 1
// for policy_loss (TRL: the mean over processes of each one's loss).
double metric_weight(const std::string& name, bool sequence_level, double tokens, double rows) {
  if (name == "policy_loss") return 1.0;
  if (name == "vespo/phi_seq_mean") return rows;
  const bool flag = name.rfind("clip_ratio/", 0) == 0 || name == "cispo_clip_ratio";
  return sequence_level && flag ? rows : tokens;
}

}  // namespace

void check_data_parallel(const GrpoConfig& config, int64_t world, const std::string& run_path) {
  const int64_t G = config.num_generations;
  const int64_t local = config.generation_batch_size / world;
  if (config.generation_batch_size % world != 0 || local % G != 0)
    throw ConfigError(run_path, "args.per_device_train_batch_size",
                      "a data-parallel gfpo run generates whole groups on each rank, so each rank's share of the "
                      "generation batch (generation_batch_size " + std::to_string(config.generation_batch_size) +
                          " / " + std::to_string(world) + " ranks = " + std::to_string(local) +
                          " rows, i.e. per_device_train_batch_size x steps_per_generation) must be a multiple of "
                          "num_generations (" + std::to_string(G) + ")");
  if (config.top_entropy_quantile < 1.0)
    throw ConfigError(run_path, "args.top_entropy_quantile",
                      "top_entropy_quantile < 1 is not supported over several ranks (its threshold is a quantile "
                      "of every rank's token entropies, which are not gathered); got " +
                          std::to_string(config.top_entropy_quantile) + " with WORLD_SIZE=" + std::to_string(world));
}

std::pair<int64_t, int64_t> rank_share(int64_t start, int64_t count, int64_t rank, int64_t world) {
  const int64_t base = count / world, extra = count % world;
  const int64_t first = start + rank * base + std::min(rank, extra);
  return {first, first + base + (rank < extra ? 1 : 0)};
}

at::Tensor gather_rows(dist::ProcessGroup* pg, const at::Tensor& local) {
  if (pg == nullptr) return local;
  return at::cat(pg->all_gather_rows(local.contiguous()));
}

std::vector<nlohmann::json> gather_json_rows(dist::ProcessGroup* pg, std::vector<nlohmann::json> local) {
  if (pg == nullptr) return local;
  std::vector<nlohmann::json> out;
  for (const std::string& bytes : pg->all_gather_bytes(nlohmann::json(std::move(local)).dump())) {
    // Our own serialisation: a parse failure would be a bug, not bad input.
    for (nlohmann::json& row : nlohmann::json::parse(bytes)) out.push_back(std::move(row));
  }
  return out;
}

RewardInput gather_reward_input(dist::ProcessGroup* pg, const RewardInput& local) {
  if (pg == nullptr) return local;
  std::vector<nlohmann::json> rows;
  rows.reserve(local.completions.size());
  for (size_t i = 0; i < local.completions.size(); ++i)
    rows.push_back({{"p", local.prompts[i]},
                    {"c", local.completions[i]},
                    {"ids", local.completion_ids[i]},
                    {"col", i < local.columns.size() ? local.columns[i] : nlohmann::json::object()},
                    {"pv", i < local.prompt_values.size() ? local.prompt_values[i] : nlohmann::json()}});
  RewardInput out;
  out.global_step = local.global_step;
  out.max_steps = local.max_steps;
  out.epoch = local.epoch;
  out.conversational = local.conversational;
  for (nlohmann::json& row : gather_json_rows(pg, std::move(rows))) {
    out.prompts.push_back(row.at("p").get<std::string>());
    out.completions.push_back(row.at("c").get<std::string>());
    out.completion_ids.push_back(row.at("ids").get<std::vector<int64_t>>());
    out.columns.push_back(std::move(row.at("col")));
    out.prompt_values.push_back(std::move(row.at("pv")));
  }
  return out;
}

std::vector<std::pair<std::string, double>> gather_loss_metrics(dist::ProcessGroup& pg, const GrpoLossConfig& config,
                                                                const MicroBatch& batch, const GrpoLossOutput& out) {
  const std::vector<std::string> names = weighted_metric_names(config);
  const size_t W = names.size();
  // Layout (float64): [value * weight, weight] for each weighted metric, then low_min, high_max, rows.
  std::vector<double> local(2 * W + 3, 0.0);
  local[2 * W] = kNaN;
  local[2 * W + 1] = kNaN;
  if (batch.rows() > 0) {
    const double tokens = batch.completion_mask.sum().item<double>();
    const double rows = static_cast<double>(batch.rows());
    const bool sequence_level = config.importance_sampling_level == ImportanceSamplingLevel::sequence;
    for (const auto& [name, value] : out.metrics) {
      const double v = value.item<double>();
      if (name == "clip_ratio/low_min") {
        local[2 * W] = v;
      } else if (name == "clip_ratio/high_max") {
        local[2 * W + 1] = v;
      } else {
        size_t i = 0;
        while (i < W && names[i] != name) ++i;
        TRL_INTERNAL_ASSERT(i < W, "grpo_loss reported an unexpected metric " + name);
        // kl and entropy are token means; the clip flags are row means at sequence level (spec §6.B B5).
        const double weight = metric_weight(name, sequence_level, tokens, rows);
        local[2 * i] = v * weight;
        local[2 * i + 1] = weight;
      }
    }
    local[2 * W + 2] = rows;
  }
  std::vector<std::pair<std::string, double>> result;
  double sums[64] = {};
  TRL_INTERNAL_ASSERT(2 * W < 64, "too many loss metrics");
  double low_min = kNaN, high_max = kNaN, rows = 0.0;
  for (const at::Tensor& rank : pg.all_gather(at::tensor(local, at::kDouble))) {  // each (2W + 3,)
    const double* v = rank.data_ptr<double>();
    for (size_t i = 0; i < 2 * W; ++i) sums[i] += v[i];
    if (!std::isnan(v[2 * W])) low_min = std::isnan(low_min) ? v[2 * W] : std::min(low_min, v[2 * W]);
    if (!std::isnan(v[2 * W + 1])) high_max = std::isnan(high_max) ? v[2 * W + 1] : std::max(high_max, v[2 * W + 1]);
    rows += v[2 * W + 2];
  }
  if (rows == 0.0) return result;  // no rank had a row: a single process would log nothing either
  for (size_t i = 0; i < W; ++i)
    // An all-empty mask gives 0 in one process (the token count is clamped to 1); the same here.
    result.emplace_back(names[i], sums[2 * i + 1] > 0.0 ? sums[2 * i] / sums[2 * i + 1] : 0.0);
  if (!std::isnan(low_min)) result.emplace_back("clip_ratio/low_min", low_min);
  if (!std::isnan(high_max)) result.emplace_back("clip_ratio/high_max", high_max);
  return result;
}

}  // namespace trl::gfpo
