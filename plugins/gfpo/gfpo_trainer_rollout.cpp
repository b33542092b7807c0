// The gfpo trainer's rollout: prompt tokenization, sampling parameters, one batched generation (see
// gfpo_trainer_rollout.h).
#include "gfpo_trainer_rollout.h"

#include <algorithm>

#include "trl/sdk/error.h"
#include "trl/sdk/generate/logits_processors.h"
#include "trl/sdk/log.h"
#include "trl/sdk/model/causal_lm.h"
#include "trl/sdk/tokenizer/tokenizer.h"
#include "trl/sdk/train/loop.h"

namespace trl::gfpo {

namespace {

// "file:line" back into its parts for a DataError.
DataError row_error(const std::string& source, const std::string& what) {
  const size_t colon = source.rfind(':');
  int64_t line = 0;
  if (colon != std::string::npos) {
    try {
      line = std::stoll(source.substr(colon + 1));
    } catch (const std::exception&) {
      line = 0;
    }
  }
  return DataError(line > 0 ? source.substr(0, colon) : source, line, what);
}

std::vector<int64_t> ids_of(const nlohmann::json& value) {
  std::vector<int64_t> ids;
  if (value.is_number_integer()) ids.push_back(value.get<int64_t>());
  if (value.is_array())
    for (const nlohmann::json& v : value)
      if (v.is_number_integer()) ids.push_back(v.get<int64_t>());
  return ids;
}

// splitmix64's finaliser: a well-mixed 64-bit value from any input, so nearby indices get unrelated seeds.
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

}  // namespace

std::vector<PromptExample> tokenize_prompts(const std::vector<PromptRow>& rows, const Tokenizer& tokenizer,
                                            const nlohmann::json& chat_template_kwargs) {
  std::vector<PromptExample> out;
  out.reserve(rows.size());
  for (const PromptRow& row : rows) {
    PromptExample example;
    example.columns = row.columns;
    example.source = row.source;
    example.conversational = row.prompt.is_chat;
    if (row.prompt.is_chat) {
      example.value = nlohmann::json::array();
      for (const Message& m : row.prompt.messages) example.value.push_back({{"role", m.role}, {"content", m.content}});
    } else {
      example.value = row.prompt.text;
    }
    if (row.prompt.is_chat) {
      nlohmann::json kwargs = chat_template_kwargs.is_object() ? chat_template_kwargs : nlohmann::json::object();
      const auto own = row.columns.find("chat_template_kwargs");
      if (own != row.columns.end() && !own->is_null()) {
        if (!own->is_object())
          throw row_error(row.source, "chat_template_kwargs: expected an object, got " + own->dump());
        kwargs.update(*own);
      }
      example.text = tokenizer.apply_chat_template(row.prompt.messages, /*add_generation_prompt=*/true, kwargs);
      // The rendered template carries its own special tokens (HF's apply_chat_template(tokenize=True)).
      example.ids = tokenizer.encode(example.text, /*add_special_tokens=*/false);
    } else {
      example.text = row.prompt.text;
      example.ids = tokenizer.encode(example.text, /*add_special_tokens=*/true);
    }
    if (example.ids.empty())
      throw row_error(row.source, "prompt: tokenizes to no token; a completion needs at least one prompt token");
    out.push_back(std::move(example));
  }
  return out;
}

SamplingParams make_sampling_params(const GrpoConfig& config, const Tokenizer& tokenizer, const CausalLM& model,
                                    const std::string& where) {
  SamplingParams p;
  p.max_new_tokens = config.max_completion_length;
  p.temperature = config.temperature;
  p.top_p = config.top_p;
  p.top_k = config.top_k;
  p.min_p = config.min_p.value_or(0.0);
  p.repetition_penalty = config.repetition_penalty;
  if (const auto eos = tokenizer.eos_token_id()) {
    p.eos_token_ids = {*eos};
  } else {
    const nlohmann::json& gc = model.generation_config();
    p.eos_token_ids = gc.contains("eos_token_id") ? ids_of(gc["eos_token_id"]) : model.config().eos_token_ids;
  }
  if (p.eos_token_ids.empty())
    log::warn(where + ": neither the tokenizer nor the model names an EOS token: every completion runs to "
                      "max_completion_length (" + std::to_string(config.max_completion_length) +
              ") and counts as truncated");
  if (const auto pad = tokenizer.pad_token_id()) {
    p.pad_token_id = *pad;
  } else if (model.config().pad_token_id) {
    p.pad_token_id = *model.config().pad_token_id;
  } else if (!p.eos_token_ids.empty()) {
    p.pad_token_id = p.eos_token_ids.front();
  } else {
    throw ConfigError(where, "model", "the tokenizer and the model name neither a pad nor an EOS token to pad with");
  }
  check_sampling_params(p);
  return p;
}

uint64_t generation_seed(uint64_t run_seed, GenerationStream stream, int64_t index, int64_t sub_index) {
  uint64_t h = mix(run_seed);
  h = mix(h ^ static_cast<uint64_t>(stream));
  h = mix(h ^ static_cast<uint64_t>(index));
  return mix(h ^ static_cast<uint64_t>(sub_index));
}

Rollout generate_rollout(const CausalLM& model, const Tokenizer& tokenizer, const std::vector<PromptExample>& prompts,
                         const std::vector<int64_t>& prompt_rows, const SamplingParams& params, int64_t global_step) {
  std::vector<std::vector<int64_t>> prompt_ids;
  prompt_ids.reserve(prompt_rows.size());
  for (int64_t row : prompt_rows) {
    TRL_INTERNAL_ASSERT(row >= 0 && row < static_cast<int64_t>(prompts.size()), "prompt row out of range");
    prompt_ids.push_back(prompts[static_cast<size_t>(row)].ids);
  }
  GenerationResult generated = generate(model, prompt_ids, params);

  Rollout out;
  out.prompt_rows = prompt_rows;
  out.completion_ids = std::move(generated.completion_ids);
  out.truncated.reserve(prompt_rows.size());
  out.input.global_step = global_step;
  const auto& eos = params.eos_token_ids;
  for (size_t i = 0; i < prompt_rows.size(); ++i) {
    const std::vector<int64_t>& ids = out.completion_ids[i];
    // TRL: truncated when the last id is neither EOS nor pad (an EOS exactly at the length limit terminates).
    const bool ends_cleanly = !ids.empty() && (std::find(eos.begin(), eos.end(), ids.back()) != eos.end() ||
                                               ids.back() == params.pad_token_id);
    out.truncated.push_back(!ends_cleanly);
    const PromptExample& prompt = prompts[static_cast<size_t>(prompt_rows[i])];
    out.input.prompts.push_back(prompt.text);
    out.input.prompt_values.push_back(prompt.value);
    out.input.conversational = out.input.conversational || prompt.conversational;
    out.input.completions.push_back(tokenizer.decode(ids, /*skip_special_tokens=*/true));
    out.input.completion_ids.push_back(ids);
    out.input.columns.push_back(prompt.columns);
  }
  return out;
}

Rollout generate_group_rollouts(const CausalLM& model, const Tokenizer& tokenizer,
                                const std::vector<PromptExample>& prompts, const std::vector<int64_t>& prompt_rows,
                                int64_t group_size, const std::vector<uint64_t>& group_seeds, SamplingParams params,
                                int64_t global_step) {
  TRL_INTERNAL_ASSERT(group_size >= 1 && prompt_rows.size() == group_seeds.size() * static_cast<size_t>(group_size),
                      "one seed per group of group_size rows");
  Rollout out;
  out.input.global_step = global_step;
  for (size_t k = 0; k < group_seeds.size(); ++k) {
    const auto first = prompt_rows.begin() + static_cast<std::ptrdiff_t>(k * static_cast<size_t>(group_size));
    params.seed = group_seeds[k];
    Rollout group = generate_rollout(model, tokenizer, prompts, std::vector<int64_t>(first, first + group_size), params,
                                     global_step);
    auto append = [](auto& to, auto& from) { to.insert(to.end(), from.begin(), from.end()); };
    append(out.prompt_rows, group.prompt_rows);
    append(out.completion_ids, group.completion_ids);
    append(out.truncated, group.truncated);
    append(out.input.prompts, group.input.prompts);
    append(out.input.prompt_values, group.input.prompt_values);
    out.input.conversational = out.input.conversational || group.input.conversational;
    append(out.input.completions, group.input.completions);
    append(out.input.completion_ids, group.input.completion_ids);
    append(out.input.columns, group.input.columns);
  }
  return out;
}

void set_progress(RewardInput& input, const TrainerState* state) {
  if (state == nullptr) return;
  input.max_steps = state->max_steps;
  input.epoch = state->epoch;
}

}  // namespace trl::gfpo
