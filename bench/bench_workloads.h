// bench/bench_workloads.h: the workloads of trl_bench (bench/README.md), each timed step by step on the
// same inputs as the PyTorch-eager peer (bench/reference/peer.py).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

namespace torch::optim {
class AdamW;
}

namespace trl {
class CausalLM;
}

namespace trl::bench {

/// Command-line settings shared by every workload.
struct BenchArgs {
  std::string model_dir;   ///< HF model directory written by `trl-host init-model`
  std::string inputs;      ///< inputs.json written by bench/make_inputs.py
  std::string workload;    ///< dpo, grpo, generate or sgemm
  int64_t steps = 5;       ///< timed steps
  int64_t warmup = 2;      ///< untimed steps before them
  int64_t threads = 2;     ///< intra-op threads
  bool bf16 = false;       ///< dpo: the forward pass and loss under bf16 autocast (TrainingArguments bf16)
  std::string torch_dtype = "float32";  ///< dpo: the weights' dtype, float32 or bfloat16 (pure bf16)
};

/// What a workload reports: per-step seconds (warm-up excluded), work per step, and the numbers the
/// harness compares with the peer's for the equal-work check. Serialised as peer.py writes it.
struct WorkloadResult {
  std::vector<double> step_s;        ///< wall seconds of each timed step
  std::vector<double> step_cpu_s;    ///< CPU seconds of the process (all threads) in each timed step
  int64_t tokens_per_step = 0;       ///< tokens a step processes (0 for sgemm)
  double flops_per_step = 0.0;       ///< sgemm only
  nlohmann::json check = nlohmann::json::array();  ///< per checked step, an object of named values
};

/// A DPO training step of the policy against a frozen reference (the dpo trainer's code path).
WorkloadResult run_dpo(const BenchArgs& args, const nlohmann::json& inputs);
/// A GRPO step: sampling with the KV cache, scoring, advantages, the dapo loss, backward, AdamW.
WorkloadResult run_grpo(const BenchArgs& args, const nlohmann::json& inputs);
/// Batched sampling with the KV cache.
WorkloadResult run_generate(const BenchArgs& args, const nlohmann::json& inputs);

/// (rows, columns) int64 tensor of equal-length id lists.
at::Tensor id_matrix(const std::vector<std::vector<int64_t>>& rows);
/// The training loop's optimizer (train/optimizer.h: make_adamw, a FusedAdamW) over every parameter of
/// `model`, without weight decay as peer.py's torch.optim.AdamW(weight_decay=0). The workloads clip and
/// drop gradients with the loop's own clip_grad_norm and drop_gradients (train/optimizer.h).
std::unique_ptr<torch::optim::AdamW> trainer_adamw(const CausalLM& model, double learning_rate);
/// Times one step: wall clock and the process's CPU time (which a loaded machine inflates less).
class StepTimer {
 public:
  StepTimer();
  /// Appends the step's wall and CPU seconds to `result` when `timed` (past the warm-up).
  void finish(WorkloadResult& result, bool timed) const;

 private:
  double wall_start_s_, cpu_start_s_;
};

}  // namespace trl::bench
