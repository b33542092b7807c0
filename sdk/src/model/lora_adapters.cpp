// LoRA adapters on a CausalLM: attaching (PEFT's LoraModel injection and LoraLayer.update_layer init),
// the adapted projection (plain LoRA and DoRA), trained biases, switching off, dropout, merging. Files are in
// lora_io.cpp, config in lora_config.cpp.
#include <cmath>
#include <regex>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/CPUGeneratorImpl.h>

#include "lora_impl.h"
#include "trl/sdk/error.h"
#include "trl/sdk/log.h"
#include "trl/sdk/model/causal_lm.h"

namespace trl {
namespace {

// The base weight slot of a projection.
at::Tensor& base_weight(LayerWeights& w, LoraModule module) {
  switch (module) {
    case LoraModule::q_proj: return w.q_proj;
    case LoraModule::k_proj: return w.k_proj;
    case LoraModule::v_proj: return w.v_proj;
    case LoraModule::o_proj: return w.o_proj;
    case LoraModule::gate_proj: return w.gate_proj;
    case LoraModule::up_proj: return w.up_proj;
    case LoraModule::down_proj: return w.down_proj;
  }
  throw InternalError("lora: unknown module");
}

// The bias slot of a projection: attention projections may have one (undefined when the config has none);
// the MLP projections of these models never do.
at::Tensor* bias_slot(LayerWeights& w, LoraModule module) {
  switch (module) {
    case LoraModule::q_proj: return &w.q_bias;
    case LoraModule::k_proj: return &w.k_bias;
    case LoraModule::v_proj: return &w.v_bias;
    case LoraModule::o_proj: return &w.o_bias;
    default: return nullptr;
  }
}

// PEFT DoraLinearLayer.get_weight_norm: the L2 norm of each output row of W + scaling · lora_weight. (out,)
at::Tensor dora_weight_norm(const at::Tensor& weight, const at::Tensor& lora_weight, double scaling) {
  return at::linalg_vector_norm(weight + lora_weight * scaling, 2, /*dim=*/at::IntArrayRef{1});
}

// The module path PEFT matches target_modules against: "model.layers.3.self_attn.q_proj".
std::string module_path(int64_t layer, LoraModule module) {
  return "model.layers." + std::to_string(layer) + (is_attention_module(module) ? ".self_attn." : ".mlp.") +
         lora_module_name(module);
}

// PEFT's check_target_module_exists: a regex string must match the whole path; a list entry matches
// the path itself or a suffix after a dot.
bool is_targeted(const LoraConfig& config, const std::string& path) {
  if (config.target_regex) return std::regex_match(path, std::regex(*config.target_regex));
  for (const std::string& target : config.target_modules) {
    if (path == target) return true;
    if (path.size() > target.size() && path.compare(path.size() - target.size(), target.size(), target) == 0 &&
        path[path.size() - target.size() - 1] == '.')
      return true;
  }
  return false;
}

LoraAdapters& adapters_of(const CausalLM& model) {
  CausalLMAccess::Impl& impl = CausalLMAccess::impl(model);
  TRL_INTERNAL_ASSERT(impl.lora != nullptr, "lora: the model has no adapters");
  return *impl.lora;
}

}  // namespace

const char* lora_module_name(LoraModule module) {
  static const char* const names[] = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
  return names[static_cast<int>(module)];
}

bool is_attention_module(LoraModule module) { return static_cast<int>(module) <= static_cast<int>(LoraModule::o_proj); }

std::string lora_tensor_name(int64_t layer, LoraModule module, char which) {
  // PEFT's get_peft_model_state_dict drops the adapter name ("default") from the saved keys.
  return "base_model.model." + module_path(layer, module) + ".lora_" + which + ".weight";
}

std::string lora_magnitude_name(int64_t layer, LoraModule module) {
  return "base_model.model." + module_path(layer, module) + ".lora_magnitude_vector";
}

std::vector<LoraTrainedBias> lora_trained_biases(CausalLMAccess::Impl& impl) {
  std::vector<LoraTrainedBias> out;
  if (impl.lora == nullptr || impl.lora->config.bias == "none") return out;
  const bool all = impl.lora->config.bias == "all";
  std::vector<LayerWeights>& layers = impl.weights.layers;
  for (size_t i = 0; i < layers.size(); ++i) {
    for (size_t m = 0; m < kLoraModuleCount; ++m) {
      const auto module = static_cast<LoraModule>(m);
      at::Tensor* bias = bias_slot(layers[i], module);
      if (bias == nullptr || !bias->defined()) continue;
      const bool adapted = impl.lora->layers[i][m].A.defined();
      if (!all && !adapted) continue;  // "lora_only": the biases of adapted projections only
      // PEFT's state_dict names an adapted projection's bias under its wrapped base_layer.
      const std::string path = "base_model.model." + module_path(static_cast<int64_t>(i), module);
      out.push_back({path + (adapted ? ".base_layer.bias" : ".bias"), adapted ? path + ".bias" : std::string(), *bias});
    }
  }
  return out;
}

void LoraAdapters::finish() {
  named.clear();
  for (size_t i = 0; i < layers.size(); ++i) {
    for (size_t m = 0; m < kLoraModuleCount; ++m) {
      const LoraPair& pair = layers[i][m];
      if (!pair.A.defined()) continue;
      named.emplace_back(lora_tensor_name(static_cast<int64_t>(i), static_cast<LoraModule>(m), 'A'), pair.A);
      named.emplace_back(lora_tensor_name(static_cast<int64_t>(i), static_cast<LoraModule>(m), 'B'), pair.B);
      if (pair.magnitude.defined())
        named.emplace_back(lora_magnitude_name(static_cast<int64_t>(i), static_cast<LoraModule>(m)), pair.magnitude);
    }
  }
}

std::shared_ptr<LoraAdapters> LoraAdapters::clone() const {
  auto copy = std::make_shared<LoraAdapters>(*this);
  copy->disabled_depth = 0;
  for (auto& layer : copy->layers) {
    for (LoraPair& pair : layer) {
      if (!pair.A.defined()) continue;
      pair.A = pair.A.detach().clone().requires_grad_(pair.A.requires_grad());
      pair.B = pair.B.detach().clone().requires_grad_(pair.B.requires_grad());
      if (pair.magnitude.defined())
        pair.magnitude = pair.magnitude.detach().clone().requires_grad_(pair.magnitude.requires_grad());
    }
  }
  copy->finish();
  return copy;
}

const LoraAdapters* active_lora(const CausalLMAccess::Impl& impl) {
  return impl.lora != nullptr && impl.lora->disabled_depth == 0 ? impl.lora.get() : nullptr;
}

at::Tensor adapted_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                          const LoraAdapters* lora, int64_t layer, LoraModule module) {
  at::Tensor y = at::linear(x, weight, bias);  // (..., out)
  if (lora == nullptr) return y;
  const LoraPair& pair = lora->layers[static_cast<size_t>(layer)][static_cast<size_t>(module)];
  if (!pair.A.defined()) return y;
  // PEFT lora.Linear.forward: x cast to the adapter dtype, result + lora_B(lora_A(dropout(x))) * scaling,
  // then cast back to the base output's dtype.
  at::Tensor input = x.to(pair.A.scalar_type());
  const bool drop = lora->dropout > 0.0 && at::GradMode::is_enabled();
  if (drop) input = at::dropout(input, lora->dropout, /*train=*/true);
  const at::Tensor lora_result = at::linear(at::linear(input, pair.A), pair.B);  // (..., out)
  if (!pair.magnitude.defined()) return (y + lora_result * lora->scaling).to(y.scalar_type());

  // DoRA (PEFT dora.py DoraLinearLayer.forward, Liu et al. 2024): y + (m / ||W + s·BA|| - 1) · base + m /
  // ||W + s·BA|| · s · BA x. The norm is detached (paper §4.3: treated as a constant, no gradient through it).
  const at::Tensor weight_in = weight.to(pair.A.scalar_type());                               // (out, in)
  const at::Tensor lora_weight = at::matmul(pair.B, pair.A).detach();                         // (out, r)(r, in)
  const at::Tensor weight_norm = dora_weight_norm(weight_in, lora_weight, lora->scaling).detach();  // (out)
  const at::Tensor mag_norm_scale = pair.magnitude / weight_norm;                             // (out)
  // Without dropout the base part is the base output minus its bias; with dropout PEFT recomputes it from
  // the dropped input (bias-free), so the dropped-out part rescales consistently with the adapter's input.
  const at::Tensor base_result =
      drop ? at::linear(input, weight_in) : (bias.defined() ? y - bias : y).to(pair.A.scalar_type());  // (..., out)
  const at::Tensor dora = (mag_norm_scale - 1) * base_result + mag_norm_scale * lora_result * lora->scaling;
  return (y + dora).to(y.scalar_type());
}

void add_lora_adapters(CausalLM& model, const LoraConfig& config, uint64_t seed) {
  CausalLMAccess::Impl& impl = CausalLMAccess::impl(model);
  if (impl.lora != nullptr) throw ConfigError("peft", "", "the model already carries LoRA adapters");
  if (config.r < 1) throw ConfigError("peft", "r", "expected an integer >= 1, got " + std::to_string(config.r));
  auto adapters = std::make_shared<LoraAdapters>();
  adapters->config = config;
  adapters->scaling = config.scaling();
  adapters->dropout = config.lora_dropout;
  const c10::ScalarType dtype = impl.dtype == at::kHalf || impl.dtype == at::kBFloat16 ? at::kFloat : impl.dtype;
  const int64_t r = config.r;
  // Drawn in float32 on the CPU in PEFT's module order, so a seed gives the same adapters everywhere.
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto kaiming_uniform = [&](int64_t rows, int64_t fan_in) {
    // nn.init.kaiming_uniform_(a=sqrt(5)), nn.Linear's default: gain sqrt(2 / (1 + 5)), bound = gain·sqrt(3 / fan_in).
    const double bound = std::sqrt(2.0 / 6.0) * std::sqrt(3.0 / static_cast<double>(fan_in));
    return at::empty({rows, fan_in}, at::kFloat).uniform_(-bound, bound, generator);
  };
  const nlohmann::json& init = config.init_lora_weights;
  adapters->layers.resize(impl.weights.layers.size());
  size_t adapted = 0;
  for (size_t i = 0; i < impl.weights.layers.size(); ++i) {
    for (size_t m = 0; m < kLoraModuleCount; ++m) {
      const auto module = static_cast<LoraModule>(m);
      if (!is_targeted(config, module_path(static_cast<int64_t>(i), module))) continue;
      const at::Tensor& w = base_weight(impl.weights.layers[i], module);  // (out, in)
      const int64_t out = w.size(0), in = w.size(1);
      at::Tensor A, B;
      if (init == "gaussian") {
        A = at::empty({r, in}, at::kFloat).normal_(0.0, 1.0 / static_cast<double>(r), generator);
        B = at::zeros({out, r}, at::kFloat);
      } else {
        A = kaiming_uniform(r, in);
        B = init.is_boolean() && !init.get<bool>() ? kaiming_uniform(out, r) : at::zeros({out, r}, at::kFloat);
      }
      LoraPair& pair = adapters->layers[i][m];
      if (config.use_dora) {
        // PEFT DoraLinearLayer.update_layer: the magnitude starts at ||W + scaling · B A|| per output row, so
        // a fresh DoRA adapter (B = 0) is the base model; computed in float32 like the draws.
        at::NoGradGuard no_grad;
        const at::Tensor norm = dora_weight_norm(w.detach().to(at::kCPU, at::kFloat), at::matmul(B, A), adapters->scaling);
        pair.magnitude = norm.to(impl.device, dtype).requires_grad_(true);  // (out)
      }
      pair.A = A.to(impl.device, dtype).requires_grad_(true);  // (r, in)
      pair.B = B.to(impl.device, dtype).requires_grad_(true);  // (out, r)
      ++adapted;
    }
  }
  if (adapted == 0) {
    std::string targets;
    for (const std::string& t : config.target_modules) targets += (targets.empty() ? "" : ", ") + t;
    throw ConfigError("peft", "target_modules",
                      "matched no module of the model (targets: " + targets +
                          "; modules are named like model.layers.0.self_attn.q_proj, model.layers.0.mlp.up_proj)");
  }
  adapters->finish();
  model.set_requires_grad(false);  // PEFT freezes every base parameter
  impl.lora = std::move(adapters);
  // bias "all" / "lora_only": those base biases train again (PEFT's _mark_only_adapters_as_trainable).
  const std::vector<LoraTrainedBias> biases = lora_trained_biases(impl);
  for (const LoraTrainedBias& bias : biases) bias.tensor.requires_grad_(true);
  if (!biases.empty())
    log::warn("peft: bias \"" + config.bias + "\" trains " + std::to_string(biases.size()) +
              " biases of the base model in place, so the adapter-off model (the reference of DPO/GFPO, PEFT's "
              "disable_adapter()) uses the trained biases, not the base model's (as PEFT and TRL do)");
}

bool has_lora_adapters(const CausalLM& model) { return CausalLMAccess::impl(model).lora != nullptr; }

const LoraConfig& lora_config(const CausalLM& model) { return adapters_of(model).config; }

const std::vector<std::pair<std::string, at::Tensor>>& lora_named_parameters(const CausalLM& model) {
  static const std::vector<std::pair<std::string, at::Tensor>> none;
  const CausalLMAccess::Impl& impl = CausalLMAccess::impl(model);
  return impl.lora != nullptr ? impl.lora->named : none;
}

std::vector<std::pair<std::string, at::Tensor>> trainable_named_parameters(const CausalLM& model) {
  if (!has_lora_adapters(model)) return model.named_parameters();
  std::vector<std::pair<std::string, at::Tensor>> out = lora_named_parameters(model);
  for (LoraTrainedBias& bias : lora_trained_biases(CausalLMAccess::impl(model)))
    out.emplace_back(std::move(bias.name), std::move(bias.tensor));
  return out;
}

void disable_lora_dropout(CausalLM& model) {
  if (has_lora_adapters(model)) adapters_of(model).dropout = 0.0;
}

void merge_lora_adapters(CausalLM& model) {
  CausalLMAccess::Impl& impl = CausalLMAccess::impl(model);
  if (impl.lora == nullptr) return;
  at::NoGradGuard no_grad;
  const LoraAdapters& adapters = *impl.lora;
  for (size_t i = 0; i < adapters.layers.size(); ++i) {
    for (size_t m = 0; m < kLoraModuleCount; ++m) {
      const LoraPair& pair = adapters.layers[i][m];
      if (!pair.A.defined()) continue;
      at::Tensor& w = base_weight(impl.weights.layers[i], static_cast<LoraModule>(m));  // (out, in)
      // PEFT get_delta_weight: (B @ A) * scaling in float32 (half types are upcast on the CPU), cast to
      // the base dtype, then added in place (LoraLayer.merge).
      const at::Tensor delta = at::matmul(pair.B.to(at::kFloat), pair.A.to(at::kFloat)) * adapters.scaling;
      if (!pair.magnitude.defined()) {
        w.add_(delta.to(w.scalar_type()));
        continue;
      }
      // DoRA (PEFT DoraLinearVariant.merge_safe): W ← (m / ||W + ΔW||)[:, None] · (W + ΔW); the bias stays.
      const at::Tensor combined = w.to(at::kFloat) + delta;                                     // (out, in)
      const at::Tensor dora_factor = pair.magnitude.to(at::kFloat) / at::linalg_vector_norm(combined, 2, at::IntArrayRef{1});  // (out)
      w.copy_(dora_factor.unsqueeze(1) * combined);
    }
  }
  impl.lora.reset();
}

LoraAdaptersDisabled::LoraAdaptersDisabled(const CausalLM& model) : model_(model) {
  CausalLMAccess::Impl& impl = CausalLMAccess::impl(model_);
  if (impl.lora != nullptr) ++impl.lora->disabled_depth;
}

LoraAdaptersDisabled::~LoraAdaptersDisabled() {
  CausalLMAccess::Impl& impl = CausalLMAccess::impl(model_);
  if (impl.lora != nullptr && impl.lora->disabled_depth > 0) --impl.lora->disabled_depth;
}

}  // namespace trl
