// The trainers' reference model (see trl/sdk/train/reference_model.h).
#include "trl/sdk/train/reference_model.h"

#include <ATen/core/grad_mode.h>

#include "core/kernel_dispatch.h"
#include "core/side_by_side.h"
#include "trl/sdk/error.h"
#include "trl/sdk/log.h"
#include "trl/sdk/model/causal_lm.h"
#include "trl/sdk/model/lora.h"
#include "trl/sdk/model/model_config.h"
#include "trl/sdk/train/context.h"

namespace trl {

std::unique_ptr<ReferenceModel> ReferenceModel::from_context(const TrainerContext& ctx) {
  if (ctx.run.ref_model) {
    auto model = CausalLM::from_pretrained(*ctx.run.ref_model, {ctx.device, ctx.dtype});
    if (model->config().vocab_size != ctx.model.config().vocab_size)
      throw ConfigError(ctx.run.path, "ref_model",
                        "vocabulary size " + std::to_string(model->config().vocab_size) + " differs from the policy's " +
                            std::to_string(ctx.model.config().vocab_size));
    return std::make_unique<ReferenceModel>(std::move(model));
  }
  if (has_lora_adapters(ctx.model)) {
    log::info("reference model: the policy with its LoRA adapters disabled (no second copy of the weights)");
    return std::make_unique<ReferenceModel>(static_cast<const CausalLM&>(ctx.model));
  }
  return std::make_unique<ReferenceModel>(ctx.model.clone());
}

ReferenceModel::ReferenceModel(std::unique_ptr<CausalLM> separate) : separate_(std::move(separate)) {
  TRL_INTERNAL_ASSERT(separate_ != nullptr, "ReferenceModel: null model");
  separate_->set_requires_grad(false);
}

ReferenceModel::ReferenceModel(const CausalLM& policy) : policy_(&policy) {
  TRL_INTERNAL_ASSERT(has_lora_adapters(policy), "ReferenceModel: the policy view needs LoRA adapters");
}

ReferenceModel::~ReferenceModel() = default;

at::Tensor ReferenceModel::run(const std::function<at::Tensor(const CausalLM&)>& f) const {
  at::NoGradGuard no_grad;
  if (separate_ != nullptr) return f(*separate_);
  const LoraAdaptersDisabled adapters_off(*policy_);
  return f(*policy_);
}

namespace {

// Whether the reference's forward beside the policy's pays off (docs/performance.md, "Changes of 2026-12-07
// (late night: side by side)"), measured on two cores:
// - the products run in bfloat16 (autocast, or bfloat16 weights): oneDNN splits many of a step's bfloat16
//   products badly over two threads, or not at all, while MKL splits the float32 ones evenly, where running
//   the two forwards on one core each only adds their contention for the caches;
// - the layers' projections take more multiply-adds per token than the lm_head: the two forwards differ in
//   the lm_head (the policy's keeps its probabilities for the backward pass, the reference's recomputes them
//   chunk by chunk), so only when the layers, the same work on both sides, are most of it are the sides even.
bool overlap_pays(const CausalLM& reference) {
  const ModelConfig& c = reference.config();
  const c10::Device device = reference.device();
  const bool bf16 = reference.dtype() == at::kBFloat16 ||
                    (autocast_active(device) && autocast_matmul_dtype(device) == at::kBFloat16);
  const int64_t q = c.num_attention_heads * c.head_dim, kv = c.num_key_value_heads * c.head_dim;
  const int64_t layer = c.hidden_size * (2 * q + 2 * kv + 3 * c.intermediate_size);
  return bf16 && c.num_hidden_layers * layer >= c.vocab_size * c.hidden_size;
}

}  // namespace

at::Tensor ReferenceModel::run_beside(const std::function<at::Tensor(const CausalLM&)>& f,
                                      const std::function<void()>& alongside) const {
  at::Tensor result;
  const auto reference = [&] { result = run(f); };
  if (separate_ != nullptr && separate_->device().is_cpu() && overlap_pays(*separate_)) {
    run_side_by_side(alongside, reference);
  } else {
    alongside();
    reference();
  }
  return result;
}

CausalLM* ReferenceModel::separate_model() const { return separate_.get(); }

bool ReferenceModel::is_adapter_off_policy() const { return policy_ != nullptr; }

void ReferenceModel::mix_in(const CausalLM& policy, double alpha, const std::string& where, const std::string& key) {
  if (separate_ == nullptr)
    throw ConfigError(where, key,
                      "the reference is the policy with its LoRA adapters off (a peft block): there is no separate "
                      "reference model to synchronize, as in TRL; set it to false");
  at::NoGradGuard no_grad;
  const auto& from = policy.named_parameters();
  const auto& to = separate_->named_parameters();
  TRL_INTERNAL_ASSERT(from.size() == to.size(), "policy and reference have different parameter lists");
  for (size_t i = 0; i < to.size(); ++i) to[i].second.mul_(1.0 - alpha).add_(from[i].second.detach(), alpha);
}

}  // namespace trl
