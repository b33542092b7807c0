// trl/sdk/generate/logits_processors.h: the logits processors generate() applies, one function each, with
// transformers' semantics (generation/logits_process.py), for plugins that sample on their own.
//
// Every function takes scores (B, V) float32 (one row per sequence) and returns a new (B, V) tensor;
// removed tokens get -inf. process_logits() chains them in transformers' order.
#pragma once

#include <cstdint>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include "trl/sdk/generate/generator.h"

namespace trl {

/// RepetitionPenaltyLogitsProcessor: where seen (B, V) bool is true, z -> z · penalty if z < 0, else z / penalty.
at::Tensor apply_repetition_penalty(const at::Tensor& scores, const at::Tensor& seen, double penalty);
/// TopKLogitsWarper: keeps the scores >= the k-th largest (ties kept); k is clamped to [1, V].
at::Tensor apply_top_k(const at::Tensor& scores, int64_t top_k);
/// TopPLogitsWarper: sorts ascending, removes tokens whose cumulative probability is <= 1 - top_p,
/// always keeping the most likely one.
at::Tensor apply_top_p(const at::Tensor& scores, double top_p);
/// MinPLogitsWarper: removes tokens with probability < min_p × the row's top probability.
at::Tensor apply_min_p(const at::Tensor& scores, double min_p);

/// Throws ConfigError naming the field of `params` that is out of range (see SamplingParams).
void check_sampling_params(const SamplingParams& params);

/// Repetition penalty (when != 1 and `seen` is defined), then, unless greedy (temperature 0),
/// temperature, top_k, top_p, min_p: the order of transformers' GenerationMixin._get_logits_processor.
at::Tensor process_logits(const at::Tensor& scores, const at::Tensor& seen, const SamplingParams& params);

/// One token per row (B) int64 on the scores' device: the argmax at temperature 0, else a draw from
/// softmax(scores) with `generator` (a CPU generator; other devices copy the probabilities to the CPU so
/// a seed gives the same tokens everywhere).
at::Tensor sample_next_tokens(const at::Tensor& scores, const SamplingParams& params, at::Generator& generator);

}  // namespace trl
