// AdamW as transformers configures it (decay off for biases and norm weights), gradient clipping, and
// the optimizer state in a checkpoint (safetensors keyed by parameter name, so it survives a reload).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

namespace torch::optim {
class AdamW;
class Optimizer;
}  // namespace torch::optim

namespace trl {

class CausalLM;
struct TrainingArguments;

/// The named parameters training updates (trainable_named_parameters() of lora.h).
using NamedParameters = std::vector<std::pair<std::string, at::Tensor>>;

/// AdamW over `parameters` (a FusedAdamW, fused_adamw.h): group 0 decays (weight_decay), group 1 (biases,
/// norms) does not.
std::unique_ptr<torch::optim::AdamW> make_adamw(const NamedParameters& parameters, const TrainingArguments& args);

/// Whether transformers would exempt a parameter from weight decay (biases and norm weights).
bool is_no_decay_parameter(const std::string& name);

/// Sets every group's learning rate.
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);

/// The global L2 norm of the gradients (before clipping); scales them to max_norm when above it
/// (torch.nn.utils.clip_grad_norm_'s rule, eps 1e-6). max_norm <= 0 only measures.
double clip_grad_norm(const std::vector<at::Tensor>& parameters, double max_norm);

/// Drops every parameter's gradient between steps (set_to_none: no zero-fill pass; the next backward
/// pass allocates them afresh).
void drop_gradients(const std::vector<at::Tensor>& parameters);

/// Writes exp_avg, exp_avg_sq and step of every parameter to `path` (safetensors, atomic).
void save_optimizer_state(const torch::optim::AdamW& optimizer, const NamedParameters& parameters,
                          const std::string& path);

/// Restores what save_optimizer_state wrote; throws CheckpointError naming the file on any mismatch.
void load_optimizer_state(torch::optim::AdamW& optimizer, const NamedParameters& parameters, const std::string& path);

}  // namespace trl
