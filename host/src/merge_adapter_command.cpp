// `trl-host merge-adapter --model BASE --adapter DIR --out DIR`: folds a PEFT LoRA adapter into its base
// model (W ← W + scaling · B A, PEFT's merge_and_unload; DoRA rescales each row by its magnitude; trained
// biases are copied in) and writes a plain HF model folder with the tokenizer, which `generate`, `train` and
// transformers load with no adapter support.
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "cli.h"
#include "host_setup.h"
#include "trl/sdk/error.h"
#include "trl/sdk/log.h"
#include "trl/sdk/model/causal_lm.h"
#include "trl/sdk/model/lora.h"
#include "trl/sdk/model/model_config.h"
#include "trl/sdk/tokenizer/tokenizer.h"

namespace trl::host {
namespace {

struct MergeOptions {
  std::string model_dir;
  std::string adapter_dir;
  std::string out_dir;
};

c10::ScalarType stored_dtype(const ModelConfig& config) {
  if (config.torch_dtype == "bfloat16") return c10::kBFloat16;
  if (config.torch_dtype == "float16") return c10::kHalf;
  return c10::kFloat;
}

void run_merge(const MergeOptions& o) {
  namespace fs = std::filesystem;
  if (fs::weakly_canonical(o.out_dir) == fs::weakly_canonical(o.model_dir))
    throw ConfigError("--out", "", "must differ from --model (the base model would be overwritten)");
  // The merge happens in the base's stored dtype, as PEFT merges into the loaded base weights.
  const ModelConfig config = ModelConfig::load(o.model_dir);
  std::unique_ptr<CausalLM> model = CausalLM::from_pretrained(o.model_dir, {c10::Device(c10::kCPU), stored_dtype(config)});
  load_lora_adapter(*model, o.adapter_dir);
  const LoraConfig lora = lora_config(*model);
  merge_lora_adapters(*model);
  // The adapter folder of a training run keeps the tokenizer it trained with; else the base's, if any.
  auto has_tokenizer = [](const std::string& dir) {
    return fs::is_regular_file(fs::path(dir) / "tokenizer.json") ||
           fs::is_regular_file(fs::path(dir) / "tokenizer_config.json");
  };
  const std::string tokenizer_dir =
      has_tokenizer(o.adapter_dir) ? o.adapter_dir : has_tokenizer(o.model_dir) ? o.model_dir : std::string();
  std::unique_ptr<Tokenizer> tokenizer = tokenizer_dir.empty() ? nullptr : Tokenizer::load(tokenizer_dir);
  model->save_pretrained(o.out_dir);
  if (tokenizer != nullptr) tokenizer->save(o.out_dir);
  else log::warn("neither " + o.adapter_dir + " nor " + o.model_dir + " has a tokenizer; " + o.out_dir + " has none");
  log::info("merged " + o.adapter_dir + " (" + (lora.use_dora ? "DoRA" : "LoRA") + " r=" + std::to_string(lora.r) +
            ", scaling " + std::to_string(lora.scaling()) + (lora.bias != "none" ? ", trained biases " + lora.bias : "") +
            ") into " + o.model_dir + ": wrote " + o.out_dir);
}

}  // namespace

void add_merge_adapter_command(CLI::App& app, const CommonOptions& common, int& exit_code) {
  auto* cmd = app.add_subcommand("merge-adapter", "Merge a LoRA adapter (PEFT layout) into its base model");
  auto o = std::make_shared<MergeOptions>();
  cmd->add_option("--model", o->model_dir, "Base model folder (config.json, model.safetensors)")->required();
  cmd->add_option("--adapter", o->adapter_dir, "Adapter folder (adapter_config.json, adapter_model.safetensors)")
      ->required();
  cmd->add_option("--out", o->out_dir, "Folder for the merged model (HF layout, with the tokenizer)")->required();
  cmd->callback([&common, &exit_code, o] {
    apply_common_options(common);
    run_merge(*o);
    exit_code = kExitOk;
  });
}

}  // namespace trl::host
