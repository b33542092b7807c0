// `trl-host init-model --preset tiny|small|large --out DIR [--seed N] [--tokenizer DIR] [--force]
// [--vocab-size N]`: the embedded default. Writes a randomly initialised Qwen2 model and its tokenizer in
// the Hugging Face layout (config.json, model.safetensors, generation_config.json, tokenizer.json,
// tokenizer_config.json), so no download is needed to try the host.
//
// Presets (all Qwen2: q/k/v biases, tied embeddings, RoPE theta 10000, 2048 positions, float32):
//   tiny   hidden 64,  2 layers, 4 heads, 2 KV heads, intermediate 172  (trains in seconds)
//   small  hidden 256, 4 layers, 4 heads, 2 KV heads, intermediate 688  (~11M parameters at vocab 32000)
//   large  hidden 512, 8 layers, 8 heads, 4 KV heads, intermediate 1376 (benchmarks)
// Vocabulary: the tokenizer's size rounded up to a multiple of 64, as checkpoints pad it for matmul-friendly
// shapes (the built-in byte tokenizer's 259 ids give 320); with --tokenizer, at least 32000, the size the
// small preset is specified at.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "host_setup.h"
#include "trl/sdk/error.h"
#include "trl/sdk/log.h"
#include "trl/sdk/model/causal_lm.h"
#include "trl/sdk/tokenizer/tokenizer.h"

namespace trl::host {
namespace {

namespace fs = std::filesystem;

struct Preset {
  int64_t hidden_size, num_hidden_layers, num_attention_heads, num_key_value_heads, intermediate_size;
};

const std::map<std::string, Preset>& presets() {
  static const std::map<std::string, Preset> table = {
      {"tiny", {64, 2, 4, 2, 172}},
      {"small", {256, 4, 4, 2, 688}},
      {"large", {512, 8, 8, 4, 1376}},
  };
  return table;
}

constexpr int64_t kVocabMultiple = 64;
constexpr int64_t kBpeVocabFloor = 32000;

struct InitModelOptions {
  std::string preset;
  std::string out;
  uint64_t seed = 0;
  std::string tokenizer_dir;
  bool force = false;
  int64_t vocab_size = 0;  ///< 0 = from the tokenizer (rounded up); else this size, >= the tokenizer's
};

ModelConfig preset_config(const Preset& p, const Tokenizer& tokenizer, bool external_tokenizer,
                          int64_t vocab_size) {
  int64_t vocab = (tokenizer.vocab_size() + kVocabMultiple - 1) / kVocabMultiple * kVocabMultiple;
  if (external_tokenizer) vocab = std::max(vocab, kBpeVocabFloor);
  if (vocab_size > 0) {  // benchmarks: the vocab 32000 without a 32000-token tokenizer at hand
    if (vocab_size < tokenizer.vocab_size())
      throw ConfigError("--vocab-size", "", "expected at least the tokenizer's " +
                                                std::to_string(tokenizer.vocab_size()) + " ids, got " +
                                                std::to_string(vocab_size));
    vocab = vocab_size;
  }
  nlohmann::json j = {
      {"architectures", {"Qwen2ForCausalLM"}},
      {"model_type", "qwen2"},
      {"vocab_size", vocab},
      {"hidden_size", p.hidden_size},
      {"intermediate_size", p.intermediate_size},
      {"num_hidden_layers", p.num_hidden_layers},
      {"num_attention_heads", p.num_attention_heads},
      {"num_key_value_heads", p.num_key_value_heads},
      {"hidden_act", "silu"},
      {"max_position_embeddings", 2048},
      {"initializer_range", 0.02},
      {"rms_norm_eps", 1e-6},
      {"rope_theta", 10000.0},
      {"rope_scaling", nullptr},
      {"tie_word_embeddings", true},
      {"use_sliding_window", false},
      {"sliding_window", nullptr},
      {"max_window_layers", p.num_hidden_layers},
      {"attention_dropout", 0.0},
      {"use_cache", true},
      {"torch_dtype", "float32"},
      // pad_token_id stays null: transformers would make it the embedding's padding_idx, and the byte
      // tokenizer pads with its EOS, whose embedding must train.
      {"bos_token_id", tokenizer.bos_token_id() ? nlohmann::json(*tokenizer.bos_token_id()) : nlohmann::json(nullptr)},
      {"eos_token_id", tokenizer.eos_token_id() ? nlohmann::json(*tokenizer.eos_token_id()) : nlohmann::json(nullptr)},
  };
  return ModelConfig::from_json(j, "init-model preset");
}

void run_init_model(const InitModelOptions& o) {
  auto preset = presets().find(o.preset);
  if (preset == presets().end())
    throw ConfigError("--preset", "", "expected tiny, small or large, got \"" + o.preset + "\"");
  if (!o.force && (fs::exists(o.out + "/config.json") || fs::exists(o.out + "/model.safetensors")))
    throw ConfigError("--out", "", o.out + " already holds a model; choose another folder or pass --force");
  const bool external = !o.tokenizer_dir.empty();
  std::unique_ptr<Tokenizer> tokenizer = external ? Tokenizer::load(o.tokenizer_dir) : Tokenizer::byte_level();
  const ModelConfig config = preset_config(preset->second, *tokenizer, external, o.vocab_size);
  auto model = CausalLM::from_config(config, o.seed);
  nlohmann::json generation = {{"_from_model_config", true}};
  if (config.bos_token_id) generation["bos_token_id"] = *config.bos_token_id;
  if (!config.eos_token_ids.empty()) generation["eos_token_id"] = config.eos_token_ids.front();
  if (tokenizer->pad_token_id()) generation["pad_token_id"] = *tokenizer->pad_token_id();
  model->set_generation_config(generation);
  model->save_pretrained(o.out);
  tokenizer->save(o.out);
  std::cout << "wrote " << o.preset << " Qwen2 model to " << o.out << ": " << config.num_parameters()
            << " parameters, vocab " << config.vocab_size << ", hidden " << config.hidden_size << ", "
            << config.num_hidden_layers << " layers, seed " << o.seed << "\n";
}

}  // namespace

void add_init_model_command(CLI::App& app, const CommonOptions& common, int& exit_code) {
  auto* cmd = app.add_subcommand("init-model", "Write a randomly initialised Qwen2 model and tokenizer (HF layout)");
  auto options = std::make_shared<InitModelOptions>();
  cmd->add_option("--preset", options->preset, "tiny, small or large")->required();
  cmd->add_option("--out", options->out, "Folder to write the model into (created if missing)")->required();
  cmd->add_option("--seed", options->seed, "Seed of the random initialisation")->capture_default_str();
  cmd->add_option("--tokenizer", options->tokenizer_dir,
                  "Folder with tokenizer.json and tokenizer_config.json (default: the built-in byte tokenizer)");
  cmd->add_flag("--force", options->force, "Overwrite a model already in --out");
  cmd->add_option("--vocab-size", options->vocab_size,
                  "Vocabulary size of the model (default: the tokenizer's, rounded up to a multiple of 64)");
  cmd->callback([&common, &exit_code, options] {
    apply_common_options(common);
    run_init_model(*options);
    exit_code = kExitOk;
  });
}

}  // namespace trl::host
