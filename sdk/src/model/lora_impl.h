// Private to the model sources: the LoRA adapters a CausalLM carries and the adapted projection the
// forward pass calls (see trl/sdk/model/lora.h). Letters: r rank, N rows, in/out feature counts.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "causal_lm_impl.h"
#include "trl/sdk/model/lora.h"

namespace trl {

/// Access to a CausalLM's private state for the LoRA sources (a friend of CausalLM).
struct CausalLMAccess {
  /// The model's private state, nameable here.
  using Impl = CausalLM::Impl;
  /// The model's Impl (adapters are state of the model, even of a const one: the disable guard).
  static Impl& impl(const CausalLM& model) { return *model.impl_; }
};

/// The projections of one decoder layer that LoRA can adapt, in transformers' registration order.
enum class LoraModule : int { q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj };
/// How many LoraModule values there are.
constexpr size_t kLoraModuleCount = 7;
/// The HF module name of a projection ("q_proj").
const char* lora_module_name(LoraModule module);
/// Whether the projection lives under self_attn (else under mlp).
bool is_attention_module(LoraModule module);

/// One adapted projection: A (r, in), B (out, r); all undefined where the projection is not adapted.
struct LoraPair {
  at::Tensor A;          ///< lora_A.weight (r, in)
  at::Tensor B;          ///< lora_B.weight (out, r)
  at::Tensor magnitude;  ///< DoRA's lora_magnitude_vector (out); undefined without use_dora
};

/// Every adapter of a model.
struct LoraAdapters {
  LoraConfig config;                                           ///< as given (resolved target modules)
  double scaling = 1.0;                                        ///< config.scaling()
  double dropout = 0.0;                                        ///< effective dropout (0 after disable_lora_dropout)
  int disabled_depth = 0;                                      ///< LoraAdaptersDisabled guards alive
  std::vector<std::array<LoraPair, kLoraModuleCount>> layers;  ///< per decoder layer
  std::vector<std::pair<std::string, at::Tensor>> named;       ///< PEFT names, filled by finish()

  /// Fills `named` from `layers`: layer by layer, module order, A, B, then DoRA's magnitude.
  void finish();
  /// A deep copy (same device, dtype and requires_grad), enabled.
  std::shared_ptr<LoraAdapters> clone() const;
};

/// PEFT's saved name of a model's adapter tensor: "base_model.model.model.layers.<i>.<self_attn|mlp>.<module>.lora_<A|B>.weight".
std::string lora_tensor_name(int64_t layer, LoraModule module, char which);

/// PEFT's saved name of DoRA's magnitude: "base_model.model.model.layers.<i>.<self_attn|mlp>.<module>.lora_magnitude_vector"
/// (PEFT strips the ".weight" of its DoraLinearLayer so the file format predates that refactor).
std::string lora_magnitude_name(int64_t layer, LoraModule module);

/// One bias that trains with the adapters (LoraConfig::bias "all" or "lora_only").
struct LoraTrainedBias {
  std::string name;   ///< PEFT's saved name: "<module>.base_layer.bias" when adapted, else "<module>.bias"
  std::string alias;  ///< the name PEFT < 0.7 saved for an adapted module's bias ("<module>.bias"); empty if none
  at::Tensor tensor;  ///< the model's own bias slot (out), trained in place
};

/// The biases the adapters' config trains, in module order: with "all" every bias of the model, with
/// "lora_only" those of adapted projections (PEFT's _mark_only_adapters_as_trainable); empty for "none".
std::vector<LoraTrainedBias> lora_trained_biases(CausalLMAccess::Impl& impl);

/// The adapters a forward pass should apply: null when the model has none or they are disabled.
const LoraAdapters* active_lora(const CausalLMAccess::Impl& impl);

/// base(x) = x W^T + b, plus, when `lora` adapts (layer, module), PEFT's lora.Linear update
/// (dropout(x) A^T B^T) · scaling in the adapters' dtype; the sum is cast to the base output's dtype.
/// With DoRA, PEFT's DoraLinearLayer instead: the output rescaled per output feature by magnitude / ||W + scaling B A||
/// (that norm detached). Dropout is applied only while gradient mode is on (training; evaluation and reference
/// runs are no-grad).
at::Tensor adapted_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                          const LoraAdapters* lora, int64_t layer, LoraModule module);

}  // namespace trl
