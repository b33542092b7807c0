// The BEMA update on a list of tensors, line for line TRL's BEMACallback (spec/trl-reference.md §2.1),
// so that float32 results agree with TRL's bit for bit (tests/golden/make_bema_golden.py).
#include "bema_state.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include <ATen/core/Tensor.h>
#include <ATen/core/grad_mode.h>
#include <c10/core/GradMode.h>

#include "trl/sdk/error.h"

namespace trl::bema {

namespace {

// "cuda" (no index) matches any CUDA device: the buffers then go wherever LibTorch's current device is.
bool same_device(const c10::Device& wanted, const c10::Device& actual) {
  return wanted.type() == actual.type() &&
         (!wanted.has_index() || !actual.has_index() || wanted.index() == actual.index());
}

std::string shape_text(const at::Tensor& t) {
  std::string out = "[";
  for (int64_t d = 0; d < t.dim(); ++d) out += (d ? ", " : "") + std::to_string(t.size(d));
  return out + "]";
}

}  // namespace

BemaState::BemaState(BemaParams params, const std::string& where)
    : params_(std::move(params)), where_(where), device_(c10::kCPU) {
  check_bema_params(params_, where);
  device_ = parse_bema_device(params_.device, where, "device");
}

double BemaState::ema_beta(int64_t step) const {
  // TRL's _ema_beta: the absolute step, not the steps since update_after (spec §2.1).
  const double beta = std::pow(static_cast<double>(params_.lag) + params_.multiplier * static_cast<double>(step),
                               -params_.ema_power);
  return std::max(beta, params_.min_ema_multiplier);
}

double BemaState::bema_alpha(int64_t step) const {
  // TRL's _bema_alpha (spec §2.1).
  return std::pow(static_cast<double>(params_.lag) + params_.multiplier * static_cast<double>(step),
                  -params_.bias_power);
}

BemaAction BemaState::action_at(int64_t step) const {
  // TRL's on_step_end (spec §2.1). With update_after = 0 the snapshot branch never fires, since the loop's
  // first step is 1: θ₀ and the EMA keep the weights of begin(), which are the weights "at step 0".
  if (step < params_.update_after) return BemaAction::none;
  if (step == params_.update_after) return BemaAction::snapshot;
  if ((step - params_.update_after) % params_.update_freq == 0) return BemaAction::update;
  return BemaAction::none;
}

void BemaState::begin(std::vector<std::string> names, std::vector<at::Tensor> live, std::vector<at::Tensor> running) {
  TRL_INTERNAL_ASSERT(names.size() == live.size(), "bema: " + std::to_string(names.size()) + " names for " +
                                                       std::to_string(live.size()) + " parameters");
  TRL_INTERNAL_ASSERT(running.empty() || running.size() == live.size(),
                      "bema: " + std::to_string(running.size()) + " running tensors for " +
                          std::to_string(live.size()) + " parameters (TRL's strict zip)");
  if (live.empty()) throw ConfigError(where_ + ": the model has no parameters to average");
  for (size_t i = 0; i < live.size(); ++i) {
    const at::Tensor& p = live[i];
    TRL_INTERNAL_ASSERT(p.defined(), "bema: parameter '" + names[i] + "' is an undefined tensor");
    if (!p.is_floating_point())
      throw ConfigError(where_ + ": parameter '" + names[i] + "' has a non-floating dtype; BEMA averages weights");
    if (!p.requires_grad())
      throw ConfigError(where_ + ": parameter '" + names[i] +
                        "' is frozen (requires_grad = false); BEMA needs every parameter of the model to be "
                        "trainable, as TRL's BEMACallback does (its update pairs the trainable parameters with "
                        "all of the running model's parameters, so a frozen one would misalign them)");
    if (!running.empty()) {
      const at::Tensor& r = running[i];
      TRL_INTERNAL_ASSERT(r.defined() && r.sizes() == p.sizes(),
                          "bema: running tensor for '" + names[i] + "' has shape " +
                              (r.defined() ? shape_text(r) : std::string("undefined")) + ", the parameter " +
                              shape_text(p));
      TRL_INTERNAL_ASSERT(same_device(device_, r.device()),
                          "bema: running tensor for '" + names[i] + "' is on " + r.device().str() +
                              ", the buffers on " + device_.str());
    }
  }

  at::NoGradGuard no_grad;
  theta0_.clear();
  ema_.clear();
  for (const at::Tensor& p : live) {
    // TRL: θ₀ = param.detach().clone().to(device); EMA = θ₀.clone(). Same dtype as the parameter.
    theta0_.push_back(p.detach().to(device_, /*non_blocking=*/false, /*copy=*/true));
    ema_.push_back(theta0_.back().clone());
  }
  if (running.empty()) {
    running_.clear();
    for (const at::Tensor& t : theta0_) running_.push_back(t.clone());
  } else {
    // TRL: running_model.load_state_dict(model.state_dict()), i.e. the running weights start as θ.
    for (size_t i = 0; i < live.size(); ++i) running[i].copy_(live[i].detach());
    running_ = std::move(running);
  }
  names_ = std::move(names);
  live_ = std::move(live);
  update_steps_.clear();
  snapshot_step_.reset();
  started_ = true;
}

void BemaState::restore(const std::vector<at::Tensor>& theta0, const std::vector<at::Tensor>& ema,
                        const std::vector<at::Tensor>& running, std::optional<int64_t> snapshot_step,
                        const std::string& source) {
  TRL_INTERNAL_ASSERT(started_, "bema: restore before begin()");
  const std::pair<const char*, const std::vector<at::Tensor>*> saved[] = {
      {"theta0", &theta0}, {"ema", &ema}, {"running", &running}};
  for (const auto& [what, list] : saved) {
    if (list->size() != names_.size())
      throw CheckpointError(source, std::string(what) + ": " + std::to_string(list->size()) +
                                        " tensors saved, the model has " + std::to_string(names_.size()) +
                                        " parameters");
    for (size_t i = 0; i < names_.size(); ++i)
      if (!(*list)[i].defined() || (*list)[i].sizes() != live_[i].sizes())
        throw CheckpointError(source, std::string(what) + "." + names_[i] + ": saved shape " +
                                          ((*list)[i].defined() ? shape_text((*list)[i]) : std::string("missing")) +
                                          ", the parameter has " + shape_text(live_[i]));
  }
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < names_.size(); ++i) {
    theta0_[i].copy_(theta0[i]);
    ema_[i].copy_(ema[i]);
    running_[i].copy_(running[i]);
  }
  snapshot_step_ = snapshot_step;
}

BemaAction BemaState::on_step_end(int64_t step) {
  TRL_INTERNAL_ASSERT(started_, "bema: on_step_end before begin()");
  const BemaAction action = action_at(step);
  switch (action) {
    case BemaAction::snapshot:
      snapshot();
      snapshot_step_ = step;
      break;
    case BemaAction::update:
      update(step);
      break;
    case BemaAction::none:
      break;
  }
  return action;
}

void BemaState::snapshot() {
  // TRL: θ₀ ← θ and EMA ← θ at step == update_after; the running weights are not touched (spec §2.1).
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < live_.size(); ++i) {
    theta0_[i].copy_(live_[i].detach());
    ema_[i].copy_(live_[i].detach());
  }
}

void BemaState::update(int64_t step) {
  // TRL's _update_bema_weights, in the same operation order so float32 rounding agrees (spec §2.1).
  at::NoGradGuard no_grad;
  const double beta = ema_beta(step);
  const double alpha = bema_alpha(step);
  for (size_t i = 0; i < live_.size(); ++i) {
    const at::Tensor theta = live_[i].detach().to(device_);  // no copy when already on the buffer device
    ema_[i].mul_(1.0 - beta).add_(theta, /*alpha=*/beta);
    running_[i].copy_(ema_[i].add(theta.sub(theta0_[i]).mul(alpha)));
  }
  update_steps_.push_back(step);
}

int64_t BemaState::buffer_bytes() const {
  int64_t bytes = 0;
  for (const auto* list : {&theta0_, &ema_, &running_})
    for (const at::Tensor& t : *list) bytes += static_cast<int64_t>(t.nbytes());
  return bytes;
}

}  // namespace trl::bema
