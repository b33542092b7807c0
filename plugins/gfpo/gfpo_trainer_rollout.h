// gfpo_trainer_rollout.h: the gfpo trainer's rollout: prompts tokenized as TRL's GRPO does (spec §3.1),
// sampling parameters from the configuration and the tokenizer, and one generation batch sampled with the
// SDK's KV-cache generator, decoded for the reward functions.
//
// Letters: N rows of a generation batch (each prompt repeated G times in a row).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gfpo_params.h"
#include "trl/sdk/data/dataset.h"
#include "trl/sdk/generate/generator.h"
#include "trl/sdk/plugin.h"

namespace trl {
class CausalLM;
class Tokenizer;
struct TrainerState;
}  // namespace trl

namespace trl::gfpo {

/// One prompt of the dataset, ready to generate from.
struct PromptExample {
  std::vector<int64_t> ids;  ///< prompt token ids (never empty)
  std::string text;          ///< the prompt as reward functions see it (a chat prompt rendered with its template)
  nlohmann::json columns;    ///< the row's other columns (an object), handed to rewards and filters
  std::string source;        ///< "file:line", for messages
  nlohmann::json value;      ///< the prompt as written: a string, or [{"role", "content"}, ...] (RewardInput::prompt_values)
  bool conversational = false;  ///< whether the prompt is a message list
};

/// Tokenizes prompt rows as TRL's GRPO (spec §3.1 "Prompt tokenization"): a conversational prompt goes
/// through the chat template with the generation prompt, with `chat_template_kwargs` (an object; a row's
/// own `chat_template_kwargs` column, when it is an object, overrides it key by key) and no added special
/// tokens; a standard prompt is encoded with the tokenizer's default special tokens. Prompts are never
/// truncated (max_prompt_length is gone from TRL). Throws DataError "file:line: ..." for a prompt that
/// yields no token or a chat_template_kwargs column that is not an object.
std::vector<PromptExample> tokenize_prompts(const std::vector<PromptRow>& rows, const Tokenizer& tokenizer,
                                            const nlohmann::json& chat_template_kwargs);

/// The sampling parameters of a run (spec §3.1): temperature, top_p, top_k, min_p, repetition_penalty and
/// max_completion_length as max_new_tokens. EOS is the tokenizer's eos token (TRL takes BOS/EOS/pad from
/// the tokenizer); without one, the model's generation_config.json / config.json eos ids. Pad is the
/// tokenizer's pad token (falling back to EOS), else the model config's. The seed is left 0: each
/// generation sets its own (generation_seed). Throws ConfigError at `where` when no pad id can be found.
SamplingParams make_sampling_params(const GrpoConfig& config, const Tokenizer& tokenizer, const CausalLM& model,
                                    const std::string& where);

/// Kinds of generation, so training and evaluation never share a sampling stream.
enum class GenerationStream : uint64_t { train = 1, eval = 2 };

/// The sampling seed of one generate() call: a pure function of the run seed, the stream and an index
/// (the generation batch in training; the step and batch in evaluation), so a resumed run samples exactly
/// as the uninterrupted one (TRL draws from the global RNG instead).
uint64_t generation_seed(uint64_t run_seed, GenerationStream stream, int64_t index, int64_t sub_index = 0);

/// One generation batch: the completions of N rows and what the reward functions receive.
struct Rollout {
  std::vector<int64_t> prompt_rows;                  ///< N: the dataset row each completion answers
  std::vector<std::vector<int64_t>> completion_ids;  ///< N: sampled ids, ending at (and including) the first EOS
  std::vector<bool> truncated;                       ///< N: the last id is neither EOS nor pad (spec §3.1)
  RewardInput input;                                 ///< prompt text, decoded completions, ids, columns
};

/// Samples one completion for each of `prompt_rows` (indices into `prompts`; G consecutive rows per prompt)
/// with `model` in one batched generate() call, then decodes each completion without special tokens. The
/// generator stops a row at its first EOS, so everything after it is already cut (TRL's EOS trimming).
/// `global_step` is copied into the RewardInput, and the prompts as written into its prompt_values (with
/// `conversational` set when they are message lists).
Rollout generate_rollout(const CausalLM& model, const Tokenizer& tokenizer, const std::vector<PromptExample>& prompts,
                         const std::vector<int64_t>& prompt_rows, const SamplingParams& params, int64_t global_step);

/// generate_rollout for whole groups: `prompt_rows` holds consecutive groups of `group_size` rows, and
/// group k is sampled in its own generate() call seeded with `group_seeds[k]`. A completion then depends
/// only on its prompt and its group's seed, never on which other prompts share the batch, so a
/// data-parallel job that splits the prompts over ranks samples exactly what one process samples
/// (docs/distributed.md). The results are concatenated in row order.
Rollout generate_group_rollouts(const CausalLM& model, const Tokenizer& tokenizer,
                                const std::vector<PromptExample>& prompts, const std::vector<int64_t>& prompt_rows,
                                int64_t group_size, const std::vector<uint64_t>& group_seeds, SamplingParams params,
                                int64_t global_step);

/// Copies the run's progress (max_steps, fractional epoch) from the loop's state into `input`, for reward
/// functions that shape their reward by it (TRL's trainer_state); a null state leaves them 0.
void set_progress(RewardInput& input, const TrainerState* state);

}  // namespace trl::gfpo
