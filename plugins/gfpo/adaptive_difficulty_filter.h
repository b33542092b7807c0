// adaptive_difficulty_filter.h: Adaptive Difficulty GFPO (arXiv 2508.09726, "Adaptive Difficulty GFPO"),
// made deterministic.
//
// The paper estimates a prompt's difficulty by the mean reward of its sampled group, keeps a streaming
// t-digest of those means over training, buckets each prompt by the quartiles of that distribution and
// retains more completions for harder prompts. Its setting, as we read it: out of G = 16 it keeps 4 (easy),
// 6 (medium) and 8 (hard, very hard), where plain GFPO keeps k = 8 everywhere; the fractions below are
// parameters, so another split is one config line away.
//
// This version, step by step, for each group in the order the trainer passes them (num_to_keep):
//   1. m = mean of the group's G rewards (the NaN-free weighted sums);
//   2. m joins the history (every group seen so far, or the last `history_size`), so the very first group
//      is compared with itself;
//   3. q25, q50, q75 = exact quantiles of the history (linear interpolation, as torch.quantile) instead of
//      a t-digest's approximations: the same on every machine and process;
//   4. easy if m > q75, medium if m > q50, hard if m > q25, else very hard. The comparisons are strict, so
//      when the history cannot tell prompts apart (all means equal, e.g. the first group) the prompt counts
//      as very hard and keeps the most, like plain GFPO;
//   5. keep round(fraction_bucket * R) completions (R = num_remains_in_group), clamped to [2, G]. The
//      default fractions 0.5 / 0.75 / 1 / 1 give the paper's 4 / 6 / 8 / 8 with its R = 8.
// Within the group, completions are scored as the `length` filter (shortest first) or, with
// metric="token_efficiency", as `token_efficiency`.
//
// The history lives in the filter object and is not saved in checkpoints: a resumed run starts with an
// empty history.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "running_quantiles.h"
#include "trl/sdk/plugin.h"

namespace trl::gfpo {

/// The four difficulty buckets, easiest first.
enum class Difficulty { easy, medium, hard, very_hard };

/// "easy", "medium", "hard", "very_hard".
std::string to_string(Difficulty difficulty);

/// The adaptive_difficulty filter's parameters: metric, easy_keep, medium_keep, hard_keep, very_hard_keep,
/// history_size.
ParamTable adaptive_difficulty_params();

/// Adaptive Difficulty GFPO: per-group keep counts from the group's mean reward against running quartiles.
class AdaptiveDifficultyFilter : public GroupFilter {
 public:
  /// Reads validated adaptive_difficulty_params() values.
  explicit AdaptiveDifficultyFilter(const Args& args);
  /// -length (or reward per token) per completion; stateless.
  std::vector<double> score(const CompletionGroup& group) override;
  /// Adds the group's mean reward to the history, buckets it, and returns round(fraction * R) clamped to
  /// [2, G]. Call it exactly once per group.
  int64_t num_to_keep(const CompletionGroup& group, int64_t num_remains_in_group) override;

  /// The bucket of the group most recently passed to num_to_keep.
  Difficulty last_difficulty() const { return last_difficulty_; }
  /// The bucket of mean reward `m` against the current history (which should already contain m).
  Difficulty classify(double m) const;

 private:
  bool token_efficiency_ = false;
  double keep_fraction_[4] = {0.5, 0.75, 1.0, 1.0};  // indexed by Difficulty
  RunningQuantiles history_;
  Difficulty last_difficulty_ = Difficulty::very_hard;
};

}  // namespace trl::gfpo
