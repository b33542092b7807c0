// The training loop's optimizer, clipping and gradient reset, for the training workloads (bench_workloads.h).
#include <torch/optim/adamw.h>

#include "bench_workloads.h"
#include "train/optimizer.h"
#include "trl/sdk/model/causal_lm.h"
#include "trl/sdk/train/training_args.h"

namespace trl::bench {

std::unique_ptr<torch::optim::AdamW> trainer_adamw(const CausalLM& model, double learning_rate) {
  TrainingArguments args;
  args.learning_rate = learning_rate;
  args.weight_decay = 0.0;
  return make_adamw(model.named_parameters(), args);
}

double clip_gradients(const std::vector<at::Tensor>& parameters, double max_norm) {
  return clip_grad_norm(parameters, max_norm);
}

void drop_gradients(const std::vector<at::Tensor>& parameters) {
  for (const at::Tensor& p : parameters) p.mutable_grad().reset();
}

}  // namespace trl::bench
