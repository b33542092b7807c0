// Adapter folders as PEFT writes them (PeftModel.save_pretrained): adapter_model.safetensors with the
// adapter name stripped from the keys (plus DoRA's magnitudes and the trained biases, as PEFT's
// get_peft_model_state_dict selects them), and adapter_config.json.
#include <filesystem>
#include <set>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "lora_impl.h"
#include "train/checkpoint.h"
#include "trl/sdk/error.h"
#include "trl/sdk/log.h"
#include "trl/sdk/model/causal_lm.h"
#include "trl/sdk/model/safetensors.h"

namespace trl {
namespace fs = std::filesystem;

void save_lora_adapter(const CausalLM& model, const std::string& dir) {
  if (!has_lora_adapters(model)) throw InternalError("save_lora_adapter: the model has no adapters");
  fs::create_directories(dir);
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& [name, t] : trainable_named_parameters(model)) tensors.emplace_back(name, t.detach());
  save_safetensors(dir + "/adapter_model.safetensors", tensors, {{"format", "pt"}});
  write_text_atomically(dir + "/adapter_config.json",
                        adapter_config_json(lora_config(model)).dump(2) + "\n");
}

void load_lora_weights(CausalLM& model, const std::string& dir) {
  if (!has_lora_adapters(model)) throw InternalError("load_lora_weights: the model has no adapters");
  const std::string file = dir + "/adapter_model.safetensors";
  if (!fs::is_regular_file(file)) throw ModelError(file, "is missing (is " + dir + " a PEFT adapter folder?)");
  SafetensorsFile weights(file);
  auto check_shape = [&](const std::string& name, const at::Tensor& t) {
    const SafetensorsEntry& entry = weights.entry(name);
    if (!t.sizes().equals(entry.shape))
      throw ModelError(file, "tensor '" + name + "' has shape " + c10::str(at::IntArrayRef(entry.shape)) + ", expected " +
                                 c10::str(t.sizes()));
  };
  // (file name, destination): every adapter tensor must be there; a trained bias may be missing.
  std::vector<std::pair<std::string, at::Tensor>> copies;
  std::set<std::string> expected;
  for (const auto& [name, t] : lora_named_parameters(model)) {
    if (!weights.contains(name))
      throw ModelError(file, "missing tensor '" + name + "' (the adapter_config.json targets it" +
                                 (name.find("magnitude") != std::string::npos ? " with use_dora" : "") + ")");
    check_shape(name, t);
    expected.insert(name);
    copies.emplace_back(name, t);
  }
  const std::string bias_mode = lora_config(model).bias;
  for (const LoraTrainedBias& bias : lora_trained_biases(CausalLMAccess::impl(model))) {
    const std::string& name = weights.contains(bias.name) || bias.alias.empty() || !weights.contains(bias.alias)
                                  ? bias.name
                                  : bias.alias;
    if (!weights.contains(name)) {
      // PEFT 0.7-0.13 looked for "<module>.bias" next to the adapter while the state dict said
      // "<module>.base_layer.bias", so its "lora_only" files hold no bias: PEFT then keeps the base's.
      log::warn(file + ": no tensor '" + bias.name + "' although bias is \"" + bias_mode +
                "\"; keeping the base model's bias");
      continue;
    }
    check_shape(name, bias.tensor);
    expected.insert(name);
    copies.emplace_back(name, bias.tensor);
  }
  for (const SafetensorsEntry& entry : weights.entries())
    if (expected.count(entry.name) == 0)
      throw ModelError(file, "unexpected tensor '" + entry.name + "' (not an adapter of a targeted projection" +
                                 (bias_mode == "none" ? ", and bias is \"none\" in adapter_config.json)" : ")"));
  at::NoGradGuard no_grad;
  for (const auto& [name, t] : copies) t.copy_(weights.load(name, t.scalar_type()));
}

void load_lora_adapter(CausalLM& model, const std::string& dir) {
  const LoraConfig config = read_adapter_config(dir);
  try {
    add_lora_adapters(model, config, /*seed=*/0);  // the draws are overwritten by the file's weights
  } catch (const ConfigError& e) {
    throw ModelError(dir + "/adapter_config.json", e.what());
  }
  load_lora_weights(model, dir);
}

}  // namespace trl
