// trl/sdk/generate/generator.h: batched sampling with a preallocated KV cache.
//
// Prompts of different lengths are left-padded into one batch and prefilled through the cache; each step
// then feeds one token per unfinished row and samples from the last position's logits. Rows that finish
// (EOS) are dropped from the batch and the cache. Seeded and reproducible: the same seed, prompts and
// parameters give the same tokens. Temperature 0 is greedy decoding.
//
// Logits processors run in transformers' order (GenerationMixin._get_logits_processor): repetition
// penalty, then temperature, top_k, top_p, min_p; then softmax and one multinomial draw per row from a
// CPU generator. Greedy decoding applies the repetition penalty, then takes the argmax.
#pragma once

#include <cstdint>
#include <vector>

namespace trl {

class CausalLM;

/// Sampling parameters (transformers' GenerationConfig names; 0 / 1.0 switch a filter off).
struct SamplingParams {
  int64_t max_new_tokens = 256;        ///< most tokens generated per row (>= 0)
  double temperature = 1.0;            ///< logits are divided by it (> 0); 0 = greedy
  int64_t top_k = 0;                   ///< keep the k most likely tokens (ties at the k-th kept); 0 = off
  double top_p = 1.0;                  ///< nucleus: smallest set with cumulative probability >= top_p, in (0, 1]
  double min_p = 0.0;                  ///< drop tokens with p < min_p × p_max (after temperature), in [0, 1]
  /// CTRL penalty (> 0) on every token already in the prompt or the completion: a logit z becomes z / p
  /// when z > 0 and z · p otherwise; 1 = off. Unlike transformers, the left padding of shorter prompts is
  /// not counted as "already seen", so a row's result does not depend on the other rows.
  double repetition_penalty = 1.0;
  std::vector<int64_t> eos_token_ids;  ///< a row stops after generating any of these
  int64_t pad_token_id = 0;            ///< filler for the left padding (masked, never attended)
  uint64_t seed = 0;                   ///< sampling seed
  /// Decode with the KV cache (true) or recompute the whole sequence every step (false: slow, the
  /// reference the cache is tested against; both give the same tokens).
  bool use_cache = true;
};

/// Completions of one generate() call, one per prompt, in prompt order.
struct GenerationResult {
  std::vector<std::vector<int64_t>> completion_ids;  ///< generated ids, EOS included when produced
  std::vector<bool> finished;                        ///< true when the row ended with an EOS
};

/// Samples a completion for every prompt (token ids, no padding, at least one token each) with `model`
/// in inference mode. A bad parameter is a ConfigError naming it; a token id outside the model's
/// vocabulary a ModelError.
GenerationResult generate(const CausalLM& model, const std::vector<std::vector<int64_t>>& prompts,
                          const SamplingParams& params);

}  // namespace trl
