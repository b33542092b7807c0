// trl/sdk/train/reference_model.h: the reference model a trainer compares the policy with (DPO's
// log-ratios, GRPO's KL), chosen the way TRL chooses it (spec/trl-reference.md §1.4):
//   (a) the run config's ref_model, loaded frozen;
//   (c) with a "peft" block and no ref_model: the policy itself with its LoRA adapters switched off, so
//       no second copy of the weights exists (PEFT's disable_adapter());
//   (b) otherwise a frozen copy of the initial policy.
// Trainers run the reference through run(), which is the same call in every case.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <ATen/core/Tensor.h>

namespace trl {

class CausalLM;
struct TrainerContext;

/// A frozen reference: a separate model, or the policy with its adapters off.
class ReferenceModel {
 public:
  /// The reference for `ctx` as above. An explicit ref_model whose vocabulary differs from the policy's is a
  /// ConfigError naming run.ref_model.
  static std::unique_ptr<ReferenceModel> from_context(const TrainerContext& ctx);
  /// A separate model, frozen here (requires_grad off).
  explicit ReferenceModel(std::unique_ptr<CausalLM> separate);
  /// The policy `policy` (which must carry LoRA adapters) with its adapters off; it must outlive this.
  explicit ReferenceModel(const CausalLM& policy);
  ~ReferenceModel();
  ReferenceModel(const ReferenceModel&) = delete;
  ReferenceModel& operator=(const ReferenceModel&) = delete;

  /// Calls `f` with the reference model, with gradient off and, for the policy view, its adapters off.
  /// The model handed to `f` is only valid inside the call.
  at::Tensor run(const std::function<at::Tensor(const CausalLM&)>& f) const;

  /// run(f) at the same time as `alongside`, which runs on this thread (the policy's forward, say), where
  /// that is safe and faster: a separate reference model on the CPU, exactly two intra-op threads
  /// (at::get_num_threads()), products in bfloat16 (bf16 autocast or bfloat16 weights) and a model whose
  /// layers take more multiply-adds per token than its lm_head. Each side's operations then run on one of
  /// the two threads instead of every operation on both (docs/performance.md, "Changes of 2026-12-07 (late
  /// night: side by side)", which has the measurements behind each condition). Otherwise, and always for the
  /// adapter-off policy view (which shares the policy's weights and adapter switch), alongside() first and
  /// then run(f). f sees this thread's grad mode and autocast state either way; `alongside` must not touch the
  /// reference or draw random numbers that f draws. TRL_SIDE_BY_SIDE=0 in the environment turns the overlap
  /// off. Returns f's result.
  at::Tensor run_beside(const std::function<at::Tensor(const CausalLM&)>& f,
                        const std::function<void()>& alongside) const;

  /// The separate model (callbacks such as BEMA overwrite it, TR-DPO mixes into it), or nullptr when the
  /// reference is the adapter-off policy.
  CausalLM* separate_model() const;

  /// Whether the reference is the policy with its adapters off.
  bool is_adapter_off_policy() const;

  /// TR-DPO's soft update (spec §1.6, TRL's SyncRefModelCallback): for every parameter pair, zipped in
  /// order, θ_ref ← (1 − alpha)·θ_ref + alpha·θ_policy, without gradient. Only a separate model can move:
  /// for the adapter-off policy view (PEFT) this is a ConfigError at `where`, key `key`, as TRL refuses
  /// TR-DPO with PEFT. Parameter lists of different lengths are a bug (InternalError).
  void mix_in(const CausalLM& policy, double alpha, const std::string& where, const std::string& key);

 private:
  std::unique_ptr<CausalLM> separate_;
  const CausalLM* policy_ = nullptr;
};

}  // namespace trl
