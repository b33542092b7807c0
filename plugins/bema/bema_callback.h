// plugins/bema/bema_callback.h: the `bema` callback component. Keeps a running model with the BEMA weights
// of the policy (bema_state.h), optionally overwrites the trainer's reference model with them, and saves
// them as a Hugging Face model directory at the end of training (spec/trl-reference.md §2.1-§2.2).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bema_params.h"
#include "bema_state.h"
#include "trl/sdk/plugin.h"

namespace trl::bema {

/// TRL's experimental bema_for_ref_model.BEMACallback: BEMA of the policy's weights, plus the
/// reference-model refresh. The buffers (θ₀, EMA, running model) live on params.bema.device.
class BemaCallback : public Callback {
 public:
  /// Checks the parameters (ConfigError naming the key, located at `where`).
  explicit BemaCallback(BemaCallbackParams params, const std::string& where = "bema");
  ~BemaCallback() override;

  /// Refuses update_ref_model without a separate reference model; builds the running model (a copy of
  /// the policy on the buffer device) and θ₀/EMA. Every policy parameter must be trainable. When the run
  /// resumed from a checkpoint holding bema_state.safetensors, restores the buffers (and the reference).
  void on_train_begin(CallbackArgs& args) override;
  /// BEMA snapshot/update for state.global_step, then the reference-model overwrite when it is due.
  void on_step_end(CallbackArgs& args) override;
  /// Saves the running model and the tokenizer under {output_dir}/bema (process of RANK 0 only).
  void on_train_end(CallbackArgs& args) override;
  /// Adds bema_state.safetensors (θ₀, EMA, running weights, and the reference when update_ref_model) to
  /// the checkpoint folder, which on_train_begin restores from when the run resumes (process of RANK 0).
  void on_save(CallbackArgs& args, const std::string& checkpoint_dir) override;

  /// The averaging state (θ₀, EMA, running weights, which steps updated).
  const BemaState& state() const { return state_; }
  /// The model holding the BEMA weights; nullptr before on_train_begin.
  const CausalLM* running_model() const { return running_.get(); }
  /// Steps at which the reference model was overwritten, in order.
  const std::vector<int64_t>& ref_model_update_steps() const { return ref_model_update_steps_; }

 private:
  void restore_from_checkpoint(CallbackArgs& args);

  BemaCallbackParams params_;
  std::string where_;  // the run config location of the callback's args, for error messages
  BemaState state_;
  std::unique_ptr<CausalLM> running_;
  std::vector<int64_t> ref_model_update_steps_;
};

}  // namespace trl::bema
