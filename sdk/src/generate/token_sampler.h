// Private to sdk/src/generate: the per-step sampling of generate() with buffers allocated once per call.
// Letters: R rows at the start, B rows still running (B <= R), H hidden, V vocab.
#pragma once

#include <atomic>
#include <cstdint>
#include <future>
#include <memory>
#include <vector>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include "trl/sdk/generate/generator.h"

namespace trl {

class CausalLM;

/// The lm_head projection and one token draw per row, as process_logits() + sample_next_tokens()
/// compute them (the same ops in the same order, so the same tokens for a seed), but written into
/// (R, V) buffers made once: with glibc's default thresholds, fresh 1 MB tensors per step page-faulted
/// on every step (glibc returned them to the system), about a quarter of a small-preset decode step in
/// `perf` at one thread. (trl-host now raises those thresholds, host/src/process_defaults.cpp; the SDK
/// does not rely on it, other hosts and tests link it too.)
/// The lm_head product of a decode step reads the (V, H) weight for a few rows: BLAS streams a (H, V)
/// operand at memory speed but spends 2-2.5x that on the transposed (V, H) one (MKL and OpenBLAS, one
/// thread, docs/performance.md), so the sampler copies the weight transposed once per call when the copy
/// fits kTransposedHeadBudgetBytes.
class TokenSampler {
 public:
  /// Largest lm_head weight (bytes) the sampler copies transposed for the decode steps (128 MB: vocabulary
  /// 32000 at hidden 1024); a larger one is used as it is.
  static constexpr int64_t kTransposedHeadBudgetBytes = int64_t{128} << 20;

  /// Buffers for `rows` rows of `model`'s vocabulary; draws with a CPU generator seeded with params.seed.
  TokenSampler(const CausalLM& model, int64_t rows, const SamplingParams& params);
  /// Waits for draws a pool thread is running, or cancels those none took (an error thrown between
  /// draw_ahead() and next()).
  ~TokenSampler();
  TokenSampler(const TokenSampler&) = delete;
  TokenSampler& operator=(const TokenSampler&) = delete;

  /// Starts the random draws of the next call to next(), for `rows` rows, on a thread of ATen's
  /// inter-op pool, so that they overlap the forward pass and the lm_head on the caller's thread (the
  /// draws are independent of the scores; on the CPU they are the generator's words only, and next() computes
  /// the logs its race needs, exponential_draws.h). If no pool thread has taken them when next() needs them (a busy pool, or the caller
  /// is the pool's only thread), next() draws them itself. Does nothing for greedy decoding, nor when the
  /// forward runs on more than one intra-op thread (wide layers, generation_threads.h): the pool thread would
  /// then take a core from the forward, and next() draws on the intra-op threads instead. The next
  /// call to next() must have `rows` rows.
  void draw_ahead(int64_t rows);

  /// Next token of each row (B) int64 on the CPU, from the last hidden states (B, H) and the
  /// repetition-penalty mask `seen` (B, V) bool (undefined = none). The result is a view of a buffer
  /// that the next call overwrites.
  at::Tensor next(const at::Tensor& hidden, const at::Tensor& seen);

 private:
  /// The (B, V) exponential draws of this step: those draw_ahead() started, or drawn now.
  at::Tensor draws(int64_t rows);

  /// Draws started by draw_ahead(): whoever sets `taken` first (a pool thread or next()) draws them.
  struct AheadDraws {
    std::atomic<bool> taken{false};
    std::promise<void> done;
    at::Tensor race;  // (rows, V) view of noise_
  };
  /// One step's draws for `race` (a (rows, V) view of noise_): with race_from_words_ only the generator's words
  /// (into words_), else the Exp(1) values into `race`, their logs on the intra-op threads when `parallel`.
  void draw(at::Tensor& race, bool parallel);
  /// Draws `job`'s values and fulfils its promise, with the draw's error if it throws.
  void draw_into(AheadDraws& job);

  /// Scores (B, V) float32 after the logits processors, on the model's device.
  at::Tensor scores(const at::Tensor& hidden, const at::Tensor& seen);

  const CausalLM& model_;
  SamplingParams params_;
  at::Generator generator_;
  bool in_place_;         // float32 model on the CPU, no processor active: the buffered path
  at::Tensor logits_;     // (R, V) float32, model's device, in_place_ only
  at::Tensor head_t_;     // (H, V) contiguous copy of the lm_head weight, in_place_ and within budget only
  at::Tensor probs_;      // (R, V) float32 CPU, in_place_ only
  at::Tensor noise_;      // (R, V) float32 CPU: exponential draws, then probs / draws (race_from_words_: the bounds)
  at::Tensor tokens_;     // (R, 1) int64 CPU
  std::vector<uint32_t> words_;  // the generator's raw words for one step's draws (exponential_draws.h)
  bool race_from_words_ = false;  // the winners from words_ by exponential_race(), noise_ only its scratch
  std::vector<float> winners_;    // (R) the winning ratio of each row, NaN for a row with a NaN probability
  std::shared_ptr<AheadDraws> ahead_;  // draws started by draw_ahead(), null when none
  std::future<void> ahead_done_;       // ahead_->done's future
};

}  // namespace trl
