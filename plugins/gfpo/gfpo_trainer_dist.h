// gfpo_trainer_dist.h: what the gfpo trainer exchanges between data-parallel ranks (docs/distributed.md).
//
// Each rank generates the complete groups of its own prompts: its contiguous slice of the generation batch,
// which is TRL's local slice when no group spans two processes (checked in prepare). What crosses ranks is
// what TRL gathers: the rewards matrix (advantages with scale_rewards="batch" or normalize_then_sum, and the
// reward metrics, are over the whole batch, spec §3.2 "Gathering"), every group's completions when a group
// filter runs (it sees the global groups on every rank, spec §4.3), the completion lengths (completions/*,
// dapo's N and num_tokens count every rank), and the loss metrics of each micro-step.
//
// Every function is a collective when `pg` is not null: all ranks call it in the same order.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "gfpo_params.h"
#include "gfpo_trainer_buffer.h"
#include "grpo_loss.h"
#include "trl/sdk/plugin.h"

namespace trl::dist {
class ProcessGroup;
}

namespace trl::gfpo {

/// Refuses (ConfigError naming the key of `run_path`) what a data-parallel run over `world` > 1 ranks
/// cannot do exactly: a rank's share of the generation batch (generation_batch_size / world rows) that is
/// not whole groups of num_generations, and top_entropy_quantile < 1 (its threshold is a quantile over
/// every rank's entropies, which are not gathered).
void check_data_parallel(const GrpoConfig& config, int64_t world, const std::string& run_path);

/// The prompts [first, last) of `count` prompts starting at `start` that rank `rank` of `world` takes: a
/// contiguous share, the first count % world ranks one more than the others (a rank may get none).
std::pair<int64_t, int64_t> rank_share(int64_t start, int64_t count, int64_t rank, int64_t world);

/// Every rank's rows of `local` concatenated in rank order (the row count may differ between ranks, the
/// other dimensions may not); `local` itself without a group.
at::Tensor gather_rows(dist::ProcessGroup* pg, const at::Tensor& local);

/// Every rank's rows of `local` (prompts, completions, completion ids, columns) concatenated in rank
/// order; global_step is kept. `local` itself without a group.
RewardInput gather_reward_input(dist::ProcessGroup* pg, const RewardInput& local);

/// Every rank's JSON rows concatenated in rank order; `local` itself without a group.
std::vector<nlohmann::json> gather_json_rows(dist::ProcessGroup* pg, std::vector<nlohmann::json> local);

/// The loss metrics of one micro-step over every rank's micro-batch (pg not null): kl, entropy, the
/// clip_ratio *_mean values and cispo_clip_ratio weighted by each rank's completion tokens (rows for the
/// clip flags at sequence level, and for vespo/phi_seq_mean), policy_loss the mean over ranks, so the value
/// is the one a single process computes on all the rows (TRL HEAD weights
/// the clip ratios so; it averages kl and entropy per process, which depends on how rows are split:
/// docs/distributed.md); clip_ratio/low_min and /high_max are the min and max over ranks, NaN skipped.
/// Nothing when no rank had a row; a NaN result is dropped, as TRL's log() drops it.
std::vector<std::pair<std::string, double>> gather_loss_metrics(dist::ProcessGroup& pg, const GrpoLossConfig& config,
                                                                const MicroBatch& batch, const GrpoLossOutput& out);

}  // namespace trl::gfpo
