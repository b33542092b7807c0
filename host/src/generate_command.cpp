// `trl-host generate --model DIR [--adapter DIR] --prompt TEXT [sampling flags] [--chat]`: prints the
// completion of one prompt on stdout; --adapter applies a PEFT LoRA adapter on top of the model.
//
// Defaults come from the model's generation_config.json with transformers' meaning: without
// do_sample=true decoding is greedy; with it, temperature/top_k/top_p/min_p/repetition_penalty are read
// (transformers' defaults 1.0/50/1.0/off/1.0 where absent). A flag overrides its key; --temperature > 0
// turns sampling on and 0 turns it off. Stop ids: generation_config's eos_token_id, else config.json's,
// else the tokenizer's EOS; with --chat also <|im_end|> (the end of an assistant turn in ChatML).
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "host_setup.h"
#include "trl/sdk/error.h"
#include "trl/sdk/generate/generator.h"
#include "trl/sdk/model/causal_lm.h"
#include "trl/sdk/model/lora.h"
#include "trl/sdk/tokenizer/tokenizer.h"

namespace trl::host {
namespace {

using json = nlohmann::json;

struct GenerateOptions {
  std::string model_dir;
  std::string adapter_dir;
  std::string prompt;
  bool chat = false;
  std::optional<int64_t> max_new_tokens;
  std::optional<double> temperature;
  std::optional<int64_t> top_k;
  std::optional<double> top_p;
  std::optional<double> min_p;
  std::optional<double> repetition_penalty;
  uint64_t seed = 0;
};

/// A number from generation_config.json, or `fallback` when absent or null.
template <class T>
T config_value(const json& gc, const std::string& key, T fallback, const std::string& file) {
  if (!gc.contains(key) || gc[key].is_null()) return fallback;
  if (!gc[key].is_number()) throw ModelError(file, key + ": expected a number, got " + gc[key].dump());
  return gc[key].get<T>();
}

std::vector<int64_t> ids_of(const json& value) {
  if (value.is_number_integer()) return {value.get<int64_t>()};
  std::vector<int64_t> ids;
  if (value.is_array())
    for (const json& v : value)
      if (v.is_number_integer()) ids.push_back(v.get<int64_t>());
  return ids;
}

SamplingParams sampling_params(const GenerateOptions& o, const CausalLM& model, const Tokenizer& tokenizer) {
  const json& gc = model.generation_config();
  const std::string file = o.model_dir + "/generation_config.json";
  SamplingParams p;
  const bool do_sample = gc.contains("do_sample") && gc["do_sample"].is_boolean() && gc["do_sample"].get<bool>();
  p.temperature = do_sample ? config_value<double>(gc, "temperature", 1.0, file) : 0.0;
  p.top_k = config_value<int64_t>(gc, "top_k", 50, file);
  p.top_p = config_value<double>(gc, "top_p", 1.0, file);
  p.min_p = config_value<double>(gc, "min_p", 0.0, file);
  p.repetition_penalty = config_value<double>(gc, "repetition_penalty", 1.0, file);
  p.max_new_tokens = config_value<int64_t>(gc, "max_new_tokens", 128, file);
  if (o.temperature) p.temperature = *o.temperature;
  if (o.top_k) p.top_k = *o.top_k;
  if (o.top_p) p.top_p = *o.top_p;
  if (o.min_p) p.min_p = *o.min_p;
  if (o.repetition_penalty) p.repetition_penalty = *o.repetition_penalty;
  if (o.max_new_tokens) p.max_new_tokens = *o.max_new_tokens;
  p.seed = o.seed;

  p.eos_token_ids = gc.contains("eos_token_id") ? ids_of(gc["eos_token_id"]) : model.config().eos_token_ids;
  if (p.eos_token_ids.empty() && tokenizer.eos_token_id()) p.eos_token_ids = {*tokenizer.eos_token_id()};
  if (o.chat) {
    if (auto end_of_turn = tokenizer.token_to_id("<|im_end|>")) p.eos_token_ids.push_back(*end_of_turn);
  }
  if (tokenizer.pad_token_id()) p.pad_token_id = *tokenizer.pad_token_id();
  else if (model.config().pad_token_id) p.pad_token_id = *model.config().pad_token_id;
  else if (!p.eos_token_ids.empty()) p.pad_token_id = p.eos_token_ids.front();
  return p;
}

void run_generate(const GenerateOptions& o) {
  auto model = CausalLM::from_pretrained(o.model_dir);
  if (!o.adapter_dir.empty()) load_lora_adapter(*model, o.adapter_dir);
  auto tokenizer = Tokenizer::load(o.model_dir);
  if (tokenizer->vocab_size() > model->config().vocab_size)
    throw ModelError(o.model_dir, "the tokenizer has " + std::to_string(tokenizer->vocab_size()) +
                                      " ids but the model's vocab_size is " + std::to_string(model->config().vocab_size));
  // transformers: apply_chat_template(tokenize=True) adds no special tokens beyond the template's.
  const std::vector<int64_t> prompt_ids =
      o.chat ? tokenizer->encode(tokenizer->apply_chat_template({{"user", o.prompt}}, /*add_generation_prompt=*/true),
                                 /*add_special_tokens=*/false)
             : tokenizer->encode(o.prompt);
  if (prompt_ids.empty()) throw ConfigError("--prompt", "", "expected text that encodes to at least one token");
  const SamplingParams params = sampling_params(o, *model, *tokenizer);
  const GenerationResult result = generate(*model, {prompt_ids}, params);
  std::cout << tokenizer->decode(result.completion_ids.front(), /*skip_special_tokens=*/true) << std::endl;
}

}  // namespace

void add_generate_command(CLI::App& app, const CommonOptions& common, int& exit_code) {
  auto* cmd = app.add_subcommand("generate", "Print the completion of a prompt by a model folder");
  auto o = std::make_shared<GenerateOptions>();
  cmd->add_option("--model", o->model_dir, "Model folder (config.json, model.safetensors, tokenizer.json)")->required();
  cmd->add_option("--adapter", o->adapter_dir,
                  "LoRA adapter folder (PEFT layout: adapter_config.json, adapter_model.safetensors) to apply");
  cmd->add_option("--prompt", o->prompt, "The prompt text")->required();
  cmd->add_flag("--chat", o->chat, "Wrap the prompt as a user turn with the chat template");
  cmd->add_option("--max-new-tokens", o->max_new_tokens, "Most tokens to generate (default 128)");
  cmd->add_option("--temperature", o->temperature, "Sampling temperature; 0 = greedy");
  cmd->add_option("--top-k", o->top_k, "Keep the k most likely tokens; 0 = off");
  cmd->add_option("--top-p", o->top_p, "Nucleus sampling threshold in (0, 1]");
  cmd->add_option("--min-p", o->min_p, "Drop tokens below min_p x the top probability");
  cmd->add_option("--repetition-penalty", o->repetition_penalty, "Penalty on tokens already seen; 1 = off");
  cmd->add_option("--seed", o->seed, "Sampling seed")->capture_default_str();
  cmd->callback([&common, &exit_code, o] {
    apply_common_options(common);
    run_generate(*o);
    exit_code = kExitOk;
  });
}

}  // namespace trl::host
