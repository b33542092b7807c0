// trl/sdk/generate/generator.h: batched sampling with a preallocated KV cache.
//
// Prompts of different lengths are left-padded into one batch; each step samples one token per
// unfinished row from the last position's logits. Seeded and reproducible: the same seed, prompts and
// parameters give the same tokens. Temperature 0 is greedy decoding.
#pragma once

#include <cstdint>
#include <vector>

namespace trl {

class CausalLM;

/// Sampling parameters (transformers' GenerationConfig names; 0 / 1.0 switch a filter off).
struct SamplingParams {
  int64_t max_new_tokens = 256;        ///< most tokens generated per row
  double temperature = 1.0;            ///< 0 = greedy
  int64_t top_k = 0;                   ///< keep the k most likely tokens; 0 = off
  double top_p = 1.0;                  ///< nucleus: smallest set with cumulative probability >= top_p; 1 = off
  double min_p = 0.0;                  ///< drop tokens with p < min_p × p_max; 0 = off
  double repetition_penalty = 1.0;     ///< CTRL penalty on tokens already in prompt or completion; 1 = off
  std::vector<int64_t> eos_token_ids;  ///< a row stops after generating any of these
  int64_t pad_token_id = 0;            ///< filler for finished rows and left padding
  uint64_t seed = 0;                   ///< sampling seed
};

/// Completions of one generate() call, one per prompt, in prompt order.
struct GenerationResult {
  std::vector<std::vector<int64_t>> completion_ids;  ///< generated ids, EOS included when produced
  std::vector<bool> finished;                        ///< true when the row ended with an EOS
};

/// Samples a completion for every prompt (token ids, no padding) with `model` in inference mode.
GenerationResult generate(const CausalLM& model, const std::vector<std::vector<int64_t>>& prompts,
                          const SamplingParams& params);

}  // namespace trl
