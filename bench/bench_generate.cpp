// The generation workload: trl::generate (sdk/src/generate) on unpadded prompts, sampling at the given
// temperature, no EOS (every row produces max_new_tokens). The check records the prefill's last-position
// logsumexp per row, which the harness compares with the peer's.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "bench_workloads.h"
#include "trl/sdk/generate/generator.h"
#include "trl/sdk/model/causal_lm.h"

namespace trl::bench {

WorkloadResult run_generate(const BenchArgs& args, const nlohmann::json& inputs) {
  const nlohmann::json& cfg = inputs.at("generate");
  std::unique_ptr<CausalLM> model = CausalLM::from_pretrained(args.model_dir);
  model->set_requires_grad(false);
  const auto prompts = cfg.at("prompts").get<std::vector<std::vector<int64_t>>>();
  SamplingParams params;
  params.max_new_tokens = cfg.at("max_new_tokens").get<int64_t>();
  params.temperature = cfg.at("temperature").get<double>();
  params.seed = cfg.at("sampling_seed").get<uint64_t>();

  WorkloadResult result;
  result.tokens_per_step = static_cast<int64_t>(prompts.size()) * params.max_new_tokens;
  for (int64_t step = 0; step < args.warmup + args.steps; ++step) {
    const StepTimer timer;
    const GenerationResult out = generate(*model, prompts, params);
    timer.finish(result, step >= args.warmup);
    if (step == 0) {
      c10::InferenceMode inference;
      const at::Tensor ids = id_matrix(prompts);
      const at::Tensor last = model->hidden_states(ids).select(1, ids.size(1) - 1);  // (B, H)
      const at::Tensor lse = model->logits(last).logsumexp(-1).to(at::kDouble).contiguous();
      std::vector<std::vector<int64_t>> first_tokens;
      for (const auto& row : out.completion_ids) first_tokens.emplace_back(row.begin(), row.begin() + 4);
      result.check.push_back({{"prefill_lse", std::vector<double>(lse.data_ptr<double>(), lse.data_ptr<double>() + lse.numel())},
                              {"first_tokens", first_tokens}});
    }
  }
  return result;
}

}  // namespace trl::bench
