// The GRPO workload: the gfpo trainer's step with num_iterations 1, beta 0 and loss_type dapo (TRL's
// defaults): sample G completions per prompt with the KV cache (trl::generate), score them (fraction of
// even token ids), group-normalised advantages (grpo_advantages), one policy forward over prompt +
// completion with each prompt computed once (gfpo::prompt_shared_hidden_states), token_stats at the
// completion positions (tempered log-probs and entropies), grpo_loss, backward, clipping, AdamW.
// Letters: N = prompts × G rows, P prompt tokens, C completion tokens.
#include <cmath>
#include <limits>

#include <ATen/ATen.h>
#include <torch/optim/adamw.h>

#include "bench_workloads.h"
#include "train/optimizer.h"
#include "gfpo_trainer_loss.h"
#include "grpo_advantages.h"
#include "grpo_loss.h"
#include "trl/sdk/generate/generator.h"
#include "trl/sdk/model/causal_lm.h"
#include "trl/sdk/model/token_stats.h"

namespace trl::bench {
namespace {

struct GrpoStep {
  gfpo::GrpoLossOutput loss;
  at::Tensor logps, entropies;  // (N, C)
};

/// Loss of the completions (N, C) of prompts (N, P), rewards and advantages included.
GrpoStep grpo_step_loss(CausalLM& model, const at::Tensor& prompt_ids, const at::Tensor& completions,
                        const nlohmann::json& cfg) {
  const int64_t G = cfg.at("num_generations").get<int64_t>();
  const int64_t N = completions.size(0), P = prompt_ids.size(1), C = completions.size(1);
  const at::Tensor rewards = completions.remainder(2).eq(0).to(at::kDouble).mean(1).unsqueeze(1);  // (N, 1)
  const gfpo::Advantages adv = gfpo::grpo_advantages(rewards, {1.0}, G, gfpo::ScaleRewards::group);

  const at::Tensor input_ids = at::cat({prompt_ids, completions}, 1);  // (N, P + C)
  // The trainer's forward (gfpo_trainer_loss.h): each prompt's columns once for its G completions.
  const at::Tensor hidden = gfpo::prompt_shared_hidden_states(model, input_ids, {}, P);  // (N, P + C, H)
  TokenStatsOptions options;
  options.temperature = cfg.at("temperature").get<double>();
  options.entropy = true;  // TRL logs the entropy of every step
  const TokenStats stats = token_stats(model, hidden.narrow(1, P - 1, C), completions, options);

  gfpo::GrpoLossConfig loss_config;
  loss_config.epsilon_low = loss_config.epsilon_high = cfg.at("epsilon").get<double>();
  gfpo::GrpoLossInputs in;
  in.logps = stats.logps;
  in.advantages = adv.advantages.to(stats.logps.scalar_type());
  in.completion_mask = at::ones({N, C}, stats.logps.options());
  in.entropies = stats.entropy;
  in.num_items_in_batch = static_cast<double>(N * C);
  return {gfpo::grpo_loss(loss_config, in), stats.logps, stats.entropy};
}

}  // namespace

WorkloadResult run_grpo(const BenchArgs& args, const nlohmann::json& inputs) {
  const nlohmann::json& cfg = inputs.at("grpo");
  std::unique_ptr<CausalLM> model = CausalLM::from_pretrained(args.model_dir);
  const int64_t G = cfg.at("num_generations").get<int64_t>();
  std::vector<std::vector<int64_t>> prompts;
  for (const auto& p : cfg.at("prompts"))
    for (int64_t g = 0; g < G; ++g) prompts.push_back(p.get<std::vector<int64_t>>());  // each prompt G times
  const at::Tensor prompt_ids = id_matrix(prompts);
  const std::unique_ptr<torch::optim::AdamW> optimizer = trainer_adamw(*model, cfg.at("learning_rate").get<double>());
  const double max_grad_norm = cfg.at("max_grad_norm").get<double>();

  WorkloadResult result;
  {  // equal-work check on fixed completions, before any update
    const GrpoStep check = grpo_step_loss(*model, prompt_ids,
                                          id_matrix(cfg.at("check_completions").get<std::vector<std::vector<int64_t>>>()), cfg);
    check.loss.loss.backward();
    result.check.push_back({{"loss", check.loss.loss.item<double>()},
                            {"grad_norm", clip_grad_norm(model->parameters(), std::numeric_limits<double>::infinity())},
                            {"mean_logp", check.logps.mean().item<double>()},
                            {"mean_entropy", check.entropies.mean().item<double>()}});
    drop_gradients(model->parameters());
  }

  SamplingParams params;
  params.max_new_tokens = cfg.at("max_new_tokens").get<int64_t>();
  params.temperature = cfg.at("temperature").get<double>();
  result.tokens_per_step = static_cast<int64_t>(prompts.size()) * (prompt_ids.size(1) + params.max_new_tokens);
  for (int64_t step = 0; step < args.warmup + args.steps; ++step) {
    params.seed = cfg.at("sampling_seed").get<uint64_t>() + static_cast<uint64_t>(step);
    const StepTimer timer;
    const GenerationResult generated = generate(*model, prompts, params);
    const GrpoStep loss = grpo_step_loss(*model, prompt_ids, id_matrix(generated.completion_ids), cfg);
    loss.loss.loss.backward();
    clip_grad_norm(model->parameters(), max_grad_norm);
    optimizer->step();
    drop_gradients(model->parameters());
    timer.finish(result, step >= args.warmup);
  }
  return result;
}

}  // namespace trl::bench
