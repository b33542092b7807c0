// trl/sdk/model/lora.h: LoRA adapters on a CausalLM, configured and saved exactly as Hugging Face PEFT
// does, so an adapter trained here loads with `PeftModel.from_pretrained` and one from PEFT loads here.
//
// An adapted projection computes y = base(x) + (dropout(x) A^T B^T) · scaling (PEFT's lora.Linear), with
// A (r, in) and B (out, r); scaling = lora_alpha / r, or lora_alpha / sqrt(r) with use_rslora. With DoRA
// (use_dora) a trained magnitude m (out) rescales each output feature: y = m / ||W + scaling·BA||_row ·
// (W x + scaling·BA x) + b, the norm detached (PEFT's DoraLinearLayer). Adapting a model freezes every base
// weight (requires_grad off); only A, B (and m) train, plus the base biases that `bias` "all"/"lora_only"
// selects. LoraAdaptersDisabled switches the adapters off for a scope, which is how the SDK gives trainers a
// reference model (the base) with no second copy of the weights (spec/trl-reference.md §1.4 (c)); trained
// biases stay in that reference, as with PEFT's disable_adapter().
// Letters: r rank, H hidden size, out output features.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

namespace trl {

class CausalLM;
class ParamTable;

/// A LoRA configuration with PEFT's LoraConfig names; only what this SDK implements.
struct LoraConfig {
  int64_t r = 8;                            ///< rank of A and B
  double lora_alpha = 8.0;                  ///< scale numerator
  double lora_dropout = 0.0;                ///< dropout probability on the adapter's input (training only)
  /// Adapted module names (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj), resolved:
  /// None → PEFT's default for Llama/Qwen2/Qwen3/Mistral (q_proj, v_proj); "all-linear" → all seven.
  std::vector<std::string> target_modules = {"q_proj", "v_proj"};
  /// A string target_modules other than "all-linear": PEFT's regex, matched in full against module paths
  /// such as "model.layers.0.self_attn.q_proj". nullopt = match by the names in target_modules.
  std::optional<std::string> target_regex;
  /// Which base biases train with the adapters (PEFT's bias): "none"; "all" = every bias of the model;
  /// "lora_only" = the biases of adapted projections. Trained biases are saved in the adapter file.
  std::string bias = "none";
  bool use_rslora = false;                  ///< rank-stabilised scaling alpha / sqrt(r)
  bool use_dora = false;                    ///< DoRA: a trained magnitude (lora_magnitude_vector) per output feature
  /// PEFT's init_lora_weights: true (A kaiming-uniform a=sqrt(5), B zeros), false (both kaiming-uniform,
  /// not an identity start), or "gaussian" (A normal(0, 1/r), B zeros).
  nlohmann::json init_lora_weights = true;
  /// The base model the adapters belong to (adapter_config.json's base_model_name_or_path; nullopt = null):
  /// the run's model path when training, as PEFT records the name the base was loaded from.
  std::optional<std::string> base_model_name_or_path;

  /// lora_alpha / r, or lora_alpha / sqrt(r) with use_rslora.
  double scaling() const;
};

/// The run config's "peft" block, declared: PEFT's LoraConfig names and defaults (r 8, lora_alpha 8,
/// lora_dropout 0.0, target_modules None, bias "none", use_rslora false, init_lora_weights true), plus the
/// PEFT fields accepted only at their defaults (use_dora, fan_in_fan_out, ...) so a PEFT config pastes in.
ParamTable lora_params();

/// Validates a run config's "peft" block (an object) and resolves it. Throws ConfigError naming `where`
/// and the key: unknown key (with a "did you mean"), wrong type, r < 1, dropout outside [0, 1), a bias or
/// PEFT feature that is not implemented, a target module that is not a known projection.
LoraConfig lora_config_from_json(const nlohmann::json& block, const std::string& where);

/// DIR/adapter_config.json as PEFT writes it (fields PEFT adds over time are accepted and ignored).
/// Throws ModelError naming the file for a missing file, peft_type other than "LORA" or an unsupported
/// feature (fan_in_fan_out, lora_bias, rank/alpha patterns, layers_to_transform, modules_to_save, ...).
LoraConfig read_adapter_config(const std::string& dir);

/// The adapter_config.json object PEFT writes for `config` (inference_mode true, task_type "CAUSAL_LM",
/// peft_type "LORA", fan_in_fan_out false, modules_to_save null, ...).
nlohmann::json adapter_config_json(const LoraConfig& config);

/// Adds fresh adapters to every projection `config` targets, drawn from a CPU generator seeded with
/// `seed` in PEFT's module order; freezes every base weight except the biases `config.bias` trains. DoRA's
/// magnitude starts at ||W + scaling·BA|| per output row (PEFT). Adapters are float32 when the model is
/// float16/bfloat16 (PEFT's autocast_adapter_dtype), else the model's dtype, on the model's device.
/// Throws ConfigError if the model already has adapters or no projection matches.
void add_lora_adapters(CausalLM& model, const LoraConfig& config, uint64_t seed);

/// Whether `model` carries LoRA adapters.
bool has_lora_adapters(const CausalLM& model);

/// The configuration of the model's adapters; throws InternalError if it has none.
const LoraConfig& lora_config(const CausalLM& model);

/// Every adapter tensor with PEFT's saved names ("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight",
/// "...q_proj.lora_magnitude_vector" with DoRA), layer by layer in module order, A, B, magnitude. Trained
/// biases are not included (they are the base model's). Empty without adapters.
const std::vector<std::pair<std::string, at::Tensor>>& lora_named_parameters(const CausalLM& model);

/// What training updates: with adapters, lora_named_parameters() followed by the biases LoraConfig::bias
/// trains, named as PEFT saves them ("...q_proj.base_layer.bias" for an adapted projection, "...k_proj.bias"
/// otherwise); without adapters every weight (CausalLM::named_parameters()).
std::vector<std::pair<std::string, at::Tensor>> trainable_named_parameters(const CausalLM& model);

/// Turns the adapters' dropout off (TRL's disable_dropout sets every dropout module, LoRA's too, to 0).
void disable_lora_dropout(CausalLM& model);

/// Writes DIR/adapter_model.safetensors (trainable_named_parameters(): PEFT's tensor names, metadata format=pt) and
/// DIR/adapter_config.json, through temporaries renamed into place; DIR is created if missing.
void save_lora_adapter(const CausalLM& model, const std::string& dir);

/// Reads DIR's adapter_config.json and adapter_model.safetensors and adds those adapters to `model`
/// (base frozen), copying trained biases into the model. Throws ModelError naming the file for a missing,
/// unexpected or wrongly shaped tensor. A trained bias missing from the file keeps the base's value with a
/// warning (PEFT 0.7-0.13 saved no bias for "lora_only"); PEFT < 0.7's "<module>.bias" name is accepted.
void load_lora_adapter(CausalLM& model, const std::string& dir);

/// Copies DIR/adapter_model.safetensors into the model's existing adapters and trained biases (resume); the
/// adapter tensor set must be exactly the model's. Throws ModelError naming the file otherwise.
void load_lora_weights(CausalLM& model, const std::string& dir);

/// Folds the adapters into the base weights, W ← W + scaling · B A (PEFT's merge_and_unload, computed in
/// float32), with DoRA W ← m / ||W + scaling·BA||_row · (W + scaling·BA); biases (trained or not) stay as they
/// are. Removes the adapters: the model is then a plain CausalLM again.
void merge_lora_adapters(CausalLM& model);

/// Switches a model's adapters off for its lifetime (PEFT's disable_adapter()); a no-op on a model
/// without adapters. Scopes nest: the adapters come back when the outermost guard ends.
class LoraAdaptersDisabled {
 public:
  /// Disables `model`'s adapters until destruction.
  explicit LoraAdaptersDisabled(const CausalLM& model);
  ~LoraAdaptersDisabled();
  LoraAdaptersDisabled(const LoraAdaptersDisabled&) = delete;
  LoraAdaptersDisabled& operator=(const LoraAdaptersDisabled&) = delete;

 private:
  const CausalLM& model_;
};

}  // namespace trl
