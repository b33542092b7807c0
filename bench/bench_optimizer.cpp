// The training loop's optimizer for the training workloads (bench_workloads.h).
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

}  // namespace trl::bench
