// AdamW (torch::optim's, stepped by train/fused_adamw.h), clipping and optimizer-state checkpoints. With
// fused_adamw.cpp, the only translation units that include LibTorch's optimizer headers.
#include "train/optimizer.h"

#include <cmath>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/optim/adamw.h>

#include "train/fused_adamw.h"
#include "trl/sdk/error.h"
#include "trl/sdk/model/causal_lm.h"
#include "trl/sdk/model/safetensors.h"
#include "trl/sdk/train/training_args.h"

namespace trl {

void drop_gradients(const std::vector<at::Tensor>& parameters) {
  for (const at::Tensor& p : parameters) p.mutable_grad().reset();
}

bool is_no_decay_parameter(const std::string& name) {
  // transformers' get_decay_parameter_names: biases and LayerNorm/RMSNorm weights are not decayed.
  auto ends_with = [&](const std::string& suffix) {
    return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends_with("bias") || name.find("norm") != std::string::npos;
}

std::unique_ptr<torch::optim::AdamW> make_adamw(const NamedParameters& parameters, const TrainingArguments& args) {
  std::vector<at::Tensor> decay, no_decay;
  for (const auto& [name, p] : parameters) (is_no_decay_parameter(name) ? no_decay : decay).push_back(p);
  auto options = [&](double wd) {
    return std::make_unique<torch::optim::AdamWOptions>(
        torch::optim::AdamWOptions(args.learning_rate)
            .betas({args.adam_beta1, args.adam_beta2})
            .eps(args.adam_epsilon)
            .weight_decay(wd));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, options(args.weight_decay));
  groups.emplace_back(no_decay, options(0.0));
  return std::make_unique<FusedAdamW>(std::move(groups), torch::optim::AdamWOptions(args.learning_rate));
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

double clip_grad_norm(const std::vector<at::Tensor>& parameters, double max_norm) {
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> norms;
  for (const at::Tensor& p : parameters)
    if (p.grad().defined()) norms.push_back(p.grad().detach().to(at::kFloat).norm(2));
  if (norms.empty()) return 0.0;
  const double total = at::stack(norms).norm(2).item<double>();
  if (max_norm > 0 && std::isfinite(total)) {
    const double coef = max_norm / (total + 1e-6);
    if (coef < 1.0)
      for (const at::Tensor& p : parameters)
        if (p.grad().defined()) p.grad().detach().mul_(coef);
  }
  return total;
}

void save_optimizer_state(const torch::optim::AdamW& optimizer, const NamedParameters& parameters,
                          const std::string& path) {
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& [name, p] : parameters) {
    auto it = optimizer.state().find(adamw_state_key(p));
    if (it == optimizer.state().end()) continue;  // no step taken for this parameter yet
    const auto& s = static_cast<const torch::optim::AdamWParamState&>(*it->second);
    tensors.emplace_back(name + ".exp_avg", s.exp_avg());
    tensors.emplace_back(name + ".exp_avg_sq", s.exp_avg_sq());
    tensors.emplace_back(name + ".step", at::full({}, s.step(), at::kLong));
  }
  save_safetensors(path, tensors, {{"format", "trl-host adamw"}});
}

void load_optimizer_state(torch::optim::AdamW& optimizer, const NamedParameters& parameters, const std::string& path) {
  SafetensorsFile file(path);
  for (const auto& [name, p] : parameters) {
    if (!file.contains(name + ".step")) continue;
    for (const char* part : {".exp_avg", ".exp_avg_sq"}) {
      if (!file.contains(name + part)) throw CheckpointError(path, "missing tensor '" + name + part + "'");
    }
    at::Tensor exp_avg = file.load(name + ".exp_avg");
    at::Tensor exp_avg_sq = file.load(name + ".exp_avg_sq");
    if (exp_avg.sizes() != p.sizes() || exp_avg_sq.sizes() != p.sizes())
      throw CheckpointError(path, "optimizer state of '" + name + "' has the wrong shape");
    auto state = std::make_unique<torch::optim::AdamWParamState>();
    state->step(file.load(name + ".step").item<int64_t>());
    state->exp_avg(exp_avg.to(p.device(), p.scalar_type()));
    state->exp_avg_sq(exp_avg_sq.to(p.device(), p.scalar_type()));
    optimizer.state()[adamw_state_key(p)] = std::move(state);
  }
}

}  // namespace trl
