// trl/sdk/model/token_stats.h: per-token statistics of the next-token distribution, computed only at
// the positions a trainer needs and never as a full (B, T, V) log-softmax.
//
// Trainers pass hidden states (B, T, H) and labels (B, T) already shifted (labels[b][t] is the token
// the model should predict at position t, -100 where nothing is predicted, e.g. prompt and padding).
// The N labelled rows of the hidden states are gathered first (N, H); the lm_head is applied chunk by
// chunk to them only. When a backward pass will follow and the N × V probabilities fit
// keep_probabilities_mb, the forward keeps them for it (the backward then applies the lm_head twice, not
// three times) and computes every row's logits in one product into that buffer (the head is then read from
// memory once, not once per chunk); otherwise the backward recomputes each chunk's logits, and peak memory
// is one chunk's logits (chunk_rows × V) in both passes.
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace trl {

class CausalLM;

/// The label value that marks "no prediction here".
constexpr int64_t kIgnoreIndex = -100;

/// Which extra statistics to compute (all are without gradient, except the entropy with entropy_grad).
struct TokenStatsOptions {
  bool entropy = false;         ///< predictive entropy -Σ p log p of the tempered distribution
  /// The entropy is differentiable (w.r.t. the hidden states and the lm_head), for an entropy bonus in
  /// the loss (GRPO's entropy_coef); the backward pass then recomputes each chunk's softmax for it too.
  /// Implies `entropy`.
  bool entropy_grad = false;
  bool mean_logit = false;      ///< mean over the vocabulary of the raw logits (before temperature)
  bool argmax_hit = false;      ///< whether argmax(logits) == label
  bool log_sum_p2 = false;      ///< log Σ_v p_v² of the tempered distribution (WPO weights)
  double temperature = 1.0;     ///< logits are divided by this before log-softmax (GRPO); must be > 0
  /// Positions per lm_head chunk (memory: chunk_rows × V floats). 0 = automatic: as many rows as keep one
  /// chunk's float32 logits near 16 MB (131 rows at V = 32000). Measured on the project's CPU machine,
  /// small chunks are faster as well as leaner: a chunk past glibc's 32 MB mmap threshold is fresh memory
  /// every time, and its page faults cost more than the matmul (V 32000, H 256, 1536 rows, one thread:
  /// forward 1545 ms with 1024-row chunks, 197 ms with 256, 231 ms with 128).
  int64_t chunk_rows = 0;
  /// Budget for keeping the softmax of every labelled position (N × V floats) from the forward to the
  /// backward pass instead of recomputing the logits there: saves one lm_head matmul of 2·N·H·V FLOPs
  /// (a DPO step of the bench: 1024 × 32000 floats, 131 MB; docs/performance.md has the measurement). Used only
  /// when a gradient is needed and the head is float32 or float64; 0 = always recompute.
  int64_t keep_probabilities_mb = 256;
};

/// Results, each (B, T) with zeros where labels == -100 (argmax_hit: bool, false there). Floating results
/// are float32, or float64 for a float64 model.
struct TokenStats {
  at::Tensor logps;       ///< log p(label); differentiable w.r.t. the hidden states and the lm_head
  at::Tensor entropy;     ///< defined iff requested
  at::Tensor mean_logit;  ///< defined iff requested
  at::Tensor argmax_hit;  ///< defined iff requested
  at::Tensor log_sum_p2;  ///< defined iff requested
};

/// Computes the statistics for `model`'s lm_head at every position whose label is not kIgnoreIndex.
/// hidden: (B, T, H) model dtype; labels: (B, T) int64 on the same device. A label outside [0, V) other
/// than -100 is a DataError.
TokenStats token_stats(const CausalLM& model, const at::Tensor& hidden, const at::Tensor& labels,
                       const TokenStatsOptions& options = {});

}  // namespace trl
