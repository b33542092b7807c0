// plugins/bema/bema_state.h: the BEMA update (Block & Zhang, "EMA Without the Lag: Bias-Corrected Iterate
// Averaging Schemes", arXiv 2508.00180) on any list of tensors, exactly as TRL's BEMACallback does it
// (spec/trl-reference.md §2.1). No model class is involved, so a test can drive it with plain tensors.
//
// Per optimizer step t (the ABSOLUTE global step, 1-based):
//   β_t = max((ρ + γ·t)^(−κ), min_ema_multiplier)     α_t = (ρ + γ·t)^(−η)
//   EMA ← (1 − β_t)·EMA + β_t·θ_t                     running ← EMA + α_t·(θ_t − θ₀)
// Memory: three extra copies of the trainable parameters on the buffer device (θ₀, EMA, running).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "bema_params.h"

namespace trl::bema {

/// What on_step_end did at one step.
enum class BemaAction {
  none,      ///< before update_after, or between updates
  snapshot,  ///< step == update_after: θ₀ and EMA ← θ; the running weights are left alone
  update     ///< step == update_after + k·update_freq, k >= 1: EMA and running weights updated
};

/// θ₀, the EMA and the running BEMA weights of a list of parameters, and the step logic that updates them.
class BemaState {
 public:
  /// Checks `params` (ConfigError naming the key, located at `where`, which also prefixes begin()'s
  /// errors); buffers are made by begin().
  explicit BemaState(BemaParams params, const std::string& where = "bema");

  /// β_t = max((ρ + γ·t)^(−κ), min_ema_multiplier), with t the absolute global step (spec §2.1).
  double ema_beta(int64_t step) const;
  /// α_t = (ρ + γ·t)^(−η), with t the absolute global step (spec §2.1).
  double bema_alpha(int64_t step) const;
  /// What on_step_end(step) does, from the schedule alone (spec §2.1, steps 1-3).
  BemaAction action_at(int64_t step) const;

  /// Starts averaging (TRL's on_train_begin). `live` are the parameters being trained, in a fixed order,
  /// with their `names`; they are kept by reference (tensor handles) and read at every step. Every one
  /// must require grad: TRL pairs the trainable parameters with all of the running model's parameters,
  /// so a frozen one would misalign the pairs (ConfigError naming it). θ₀ and the EMA become detached
  /// copies on the buffer device. `running` receives the BEMA weights: tensors on the buffer device with
  /// the shapes of `live` (e.g. a running model's parameters), overwritten here with a copy of `live`;
  /// empty = this state allocates them. Calling begin() again starts over.
  void begin(std::vector<std::string> names, std::vector<at::Tensor> live, std::vector<at::Tensor> running = {});

  /// After optimizer step `step` (1-based, absolute) has changed the live parameters: snapshot, update or
  /// nothing, per action_at(). In place, without gradient, on the buffer device (θ_t is copied there).
  /// Throws InternalError if begin() was not called.
  BemaAction on_step_end(int64_t step);

  /// Resuming: overwrites θ₀, the EMA and the running weights (begin()'s order, any device and floating
  /// dtype, converted to the buffers') with saved ones, and the snapshot step. Call after begin().
  /// Throws CheckpointError naming `source` when a count or shape differs.
  void restore(const std::vector<at::Tensor>& theta0, const std::vector<at::Tensor>& ema,
               const std::vector<at::Tensor>& running, std::optional<int64_t> snapshot_step,
               const std::string& source);

  /// Whether begin() has been called.
  bool started() const { return started_; }
  /// The buffer device (from BemaParams::device).
  c10::Device device() const { return device_; }
  /// The parameters as given.
  const BemaParams& params() const { return params_; }
  /// Parameter names, in begin()'s order.
  const std::vector<std::string>& names() const { return names_; }
  /// θ₀ per parameter, on device(): the weights at begin(), or at step update_after once it passed.
  const std::vector<at::Tensor>& theta0() const { return theta0_; }
  /// The EMA per parameter, on device().
  const std::vector<at::Tensor>& ema() const { return ema_; }
  /// The running BEMA weights per parameter, on device(): the weights at begin() until the first update.
  const std::vector<at::Tensor>& running() const { return running_; }
  /// Steps at which on_step_end performed an update, in order (the calls TRL's tests count, spec §5.11).
  const std::vector<int64_t>& update_steps() const { return update_steps_; }
  /// The step at which θ₀ and the EMA were snapshotted; nullopt while they still hold begin()'s weights
  /// (always, with update_after = 0: step 0 is never reached, so θ₀ is the pre-training weights).
  std::optional<int64_t> snapshot_step() const { return snapshot_step_; }
  /// Bytes held on device() by θ₀, the EMA and the running weights together.
  int64_t buffer_bytes() const;

 private:
  void snapshot();
  void update(int64_t step);

  BemaParams params_;
  std::string where_;
  c10::Device device_;
  bool started_ = false;
  std::vector<std::string> names_;
  std::vector<at::Tensor> live_;     // θ_t: the trained parameters, any device
  std::vector<at::Tensor> theta0_;   // θ₀ on device_
  std::vector<at::Tensor> ema_;      // EMA on device_
  std::vector<at::Tensor> running_;  // BEMA weights on device_
  std::vector<int64_t> update_steps_;
  std::optional<int64_t> snapshot_step_;
};

}  // namespace trl::bema
