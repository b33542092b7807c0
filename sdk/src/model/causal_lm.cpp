// CausalLM's life cycle: the weight layout, random initialisation, copies and accessors.
// Loading and saving are in causal_lm_io.cpp, the forward pass in causal_lm_forward.cpp.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/CPUGeneratorImpl.h>

#include "causal_lm_impl.h"
#include "lora_impl.h"
#include "trl/sdk/error.h"

namespace trl {

void visit_weights(const ModelConfig& c, ModelWeights& w, const WeightVisitor& visit) {
  const int64_t V = c.vocab_size, H = c.hidden_size, I = c.intermediate_size, D = c.head_dim;
  const int64_t q_width = c.num_attention_heads * D, kv_width = c.num_key_value_heads * D;
  visit("model.embed_tokens.weight", w.embed, {V, H}, InitKind::normal);
  w.layers.resize(static_cast<size_t>(c.num_hidden_layers));
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    // transformers registers self_attn (q, k, v, o, then q_norm, k_norm), mlp, then the two norms.
    LayerWeights& l = w.layers[static_cast<size_t>(i)];
    const std::string attn = "model.layers." + std::to_string(i) + ".self_attn.";
    const std::string mlp = "model.layers." + std::to_string(i) + ".mlp.";
    visit(attn + "q_proj.weight", l.q_proj, {q_width, H}, InitKind::normal);
    if (c.attention_bias) visit(attn + "q_proj.bias", l.q_bias, {q_width}, InitKind::zeros);
    visit(attn + "k_proj.weight", l.k_proj, {kv_width, H}, InitKind::normal);
    if (c.attention_bias) visit(attn + "k_proj.bias", l.k_bias, {kv_width}, InitKind::zeros);
    visit(attn + "v_proj.weight", l.v_proj, {kv_width, H}, InitKind::normal);
    if (c.attention_bias) visit(attn + "v_proj.bias", l.v_bias, {kv_width}, InitKind::zeros);
    visit(attn + "o_proj.weight", l.o_proj, {H, q_width}, InitKind::normal);
    if (c.attention_out_bias) visit(attn + "o_proj.bias", l.o_bias, {H}, InitKind::zeros);
    if (c.qk_norm) {
      visit(attn + "q_norm.weight", l.q_norm, {D}, InitKind::ones);
      visit(attn + "k_norm.weight", l.k_norm, {D}, InitKind::ones);
    }
    visit(mlp + "gate_proj.weight", l.gate_proj, {I, H}, InitKind::normal);
    visit(mlp + "up_proj.weight", l.up_proj, {I, H}, InitKind::normal);
    visit(mlp + "down_proj.weight", l.down_proj, {H, I}, InitKind::normal);
    const std::string layer = "model.layers." + std::to_string(i) + ".";
    visit(layer + "input_layernorm.weight", l.input_norm, {H}, InitKind::ones);
    visit(layer + "post_attention_layernorm.weight", l.post_norm, {H}, InitKind::ones);
  }
  visit("model.norm.weight", w.norm, {H}, InitKind::ones);
  if (c.tie_word_embeddings) w.lm_head = w.embed;
  else visit("lm_head.weight", w.lm_head, {V, H}, InitKind::normal);
}

void CausalLM::Impl::finish() {
  named.clear();
  visit_weights(config, weights, [this](const std::string& name, at::Tensor& slot, const std::vector<int64_t>&, InitKind) {
    named.emplace_back(name, slot);
  });
  inv_freq = rope_inverse_frequencies(config).to(device);
}

std::string dtype_name(c10::ScalarType dtype) {
  switch (dtype) {
    case at::kFloat: return "float32";
    case at::kBFloat16: return "bfloat16";
    case at::kHalf: return "float16";
    case at::kDouble: return "float64";
    default: throw InternalError(std::string("no config.json name for dtype ") + c10::toString(dtype));
  }
}

CausalLM::CausalLM(Key, std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CausalLM::~CausalLM() = default;

std::unique_ptr<CausalLM> CausalLM::from_config(const ModelConfig& config, uint64_t seed, const ModelOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->device = options.device;
  impl->dtype = options.dtype;
  impl->source = "config";
  dtype_name(options.dtype);  // refuses non-floating compute dtypes before any allocation
  // Drawn in float32 on the CPU whatever the target, so a seed gives the same model everywhere.
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  const double std_dev = config.initializer_range;
  visit_weights(impl->config, impl->weights,
                [&](const std::string&, at::Tensor& slot, const std::vector<int64_t>& shape, InitKind init) {
                  at::Tensor t = init == InitKind::normal ? at::empty(shape, at::kFloat).normal_(0.0, std_dev, generator)
                                 : init == InitKind::ones ? at::ones(shape, at::kFloat)
                                                          : at::zeros(shape, at::kFloat);
                  slot = t.to(options.device, options.dtype).requires_grad_(true);
                });
  if (config.pad_token_id) {
    at::NoGradGuard no_grad;
    impl->weights.embed[*config.pad_token_id].zero_();  // nn.Embedding(padding_idx) starts that row at 0
  }
  impl->finish();
  return std::make_unique<CausalLM>(Key{}, std::move(impl));
}

std::unique_ptr<CausalLM> CausalLM::clone() const {
  auto impl = std::make_unique<Impl>();
  impl->config = impl_->config;
  impl->device = impl_->device;
  impl->dtype = impl_->dtype;
  impl->generation_config = impl_->generation_config;
  impl->source = impl_->source;
  const auto& named = impl_->named;
  size_t index = 0;  // visit_weights walks the same order that filled `named`
  visit_weights(impl->config, impl->weights,
                [&](const std::string& name, at::Tensor& slot, const std::vector<int64_t>&, InitKind) {
                  const auto& [source_name, source] = named.at(index++);
                  TRL_INTERNAL_ASSERT(source_name == name, "clone: weight order changed");
                  slot = source.detach().clone().requires_grad_(source.requires_grad());
                });
  impl->finish();
  if (impl_->lora) impl->lora = impl_->lora->clone();
  return std::make_unique<CausalLM>(Key{}, std::move(impl));
}

void CausalLM::copy_weights_from(const CausalLM& other) {
  const auto& theirs = other.impl_->named;
  const auto& ours = impl_->named;
  if (theirs.size() != ours.size())
    throw ModelError(other.impl_->source, "copy_weights_from: the models have different layouts (" +
                                              std::to_string(theirs.size()) + " vs " + std::to_string(ours.size()) +
                                              " tensors)");
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < ours.size(); ++i) {
    if (ours[i].first != theirs[i].first || !ours[i].second.sizes().equals(theirs[i].second.sizes()))
      throw ModelError(other.impl_->source, "copy_weights_from: tensor '" + theirs[i].first +
                                                "' does not match '" + ours[i].first + "' in name or shape");
  }
  for (size_t i = 0; i < ours.size(); ++i) ours[i].second.copy_(theirs[i].second);
}

const ModelConfig& CausalLM::config() const { return impl_->config; }
const nlohmann::json& CausalLM::generation_config() const { return impl_->generation_config; }
void CausalLM::set_generation_config(nlohmann::json generation_config) {
  impl_->generation_config = std::move(generation_config);
}
c10::Device CausalLM::device() const { return impl_->device; }
c10::ScalarType CausalLM::dtype() const { return impl_->dtype; }
const std::vector<std::pair<std::string, at::Tensor>>& CausalLM::named_parameters() const { return impl_->named; }

std::vector<at::Tensor> CausalLM::parameters() const {
  std::vector<at::Tensor> out;
  out.reserve(impl_->named.size());
  for (const auto& [name, t] : impl_->named) out.push_back(t);
  return out;
}

void CausalLM::set_requires_grad(bool requires_grad) {
  for (auto& [name, t] : impl_->named) t.requires_grad_(requires_grad);
}

const at::Tensor& CausalLM::lm_head_weight() const { return impl_->weights.lm_head; }

}  // namespace trl
