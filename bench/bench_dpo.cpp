// The DPO workload: the dpo trainer's batch_loss path (plugins/dpo/dpo_trainer.cpp) on a fixed batch:
// one policy forward over chosen + rejected rows, each prompt computed once (dpo_pair_forward.h),
// token_stats at completion positions only, the reference forward (the same way) without gradient beside it,
// dpo_loss_inputs + dpo_loss (sigmoid), backward, clipping, AdamW.
// Letters: B pairs, T tokens per row, L = T - 1 label positions, H hidden.
#include <optional>

#include <ATen/core/grad_mode.h>
#include <torch/optim/adamw.h>

#include "bench_workloads.h"
#include "train/autocast_scope.h"
#include "train/optimizer.h"
#include "dpo_loss.h"
#include "dpo_pair_forward.h"
#include "trl/sdk/model/causal_lm.h"
#include "trl/sdk/model/token_stats.h"
#include "trl/sdk/train/reference_model.h"

namespace trl::bench {
namespace {

/// The collated batch: rows all chosen then all rejected (the collator's order), no padding.
struct DpoBatch {
  at::Tensor input_ids;        // (2B, T)
  at::Tensor attention_mask;   // (2B, T)
  at::Tensor completion_mask;  // (2B, T)
  at::Tensor labels;           // (2B, L) -100 outside completions
};

DpoBatch dpo_batch(const nlohmann::json& pairs) {
  std::vector<std::vector<int64_t>> rows, masks;
  for (const char* key : {"chosen", "rejected"}) {
    for (const auto& pair : pairs) {
      std::vector<int64_t> row = pair.at("prompt").get<std::vector<int64_t>>();
      const auto completion = pair.at(key).get<std::vector<int64_t>>();
      std::vector<int64_t> mask(row.size(), 0);
      row.insert(row.end(), completion.begin(), completion.end());
      mask.resize(row.size(), 1);
      rows.push_back(std::move(row));
      masks.push_back(std::move(mask));
    }
  }
  DpoBatch b;
  b.input_ids = id_matrix(rows);
  b.completion_mask = id_matrix(masks);
  b.attention_mask = at::ones_like(b.input_ids);
  const int64_t T = b.input_ids.size(1);
  const at::Tensor keep = b.completion_mask.narrow(1, 1, T - 1).to(at::kBool);
  b.labels = b.input_ids.narrow(1, 1, T - 1).masked_fill(~keep, kIgnoreIndex);
  return b;
}

}  // namespace

WorkloadResult run_dpo(const BenchArgs& args, const nlohmann::json& inputs) {
  const nlohmann::json& cfg = inputs.at("dpo");
  const c10::ScalarType dtype = args.torch_dtype == "bfloat16" ? c10::kBFloat16 : c10::kFloat;
  std::unique_ptr<CausalLM> policy = CausalLM::from_pretrained(args.model_dir, {c10::Device(c10::kCPU), dtype});
  const ReferenceModel reference(policy->clone());  // the trainer's default reference: a frozen copy
  const DpoBatch batch = dpo_batch(cfg.at("pairs"));
  dpo::DpoLossConfig loss_config;
  loss_config.beta = cfg.at("beta").get<double>();
  const double max_grad_norm = cfg.at("max_grad_norm").get<double>();
  const std::unique_ptr<torch::optim::AdamW> optimizer = trainer_adamw(*policy, cfg.at("learning_rate").get<double>());
  const int64_t T = batch.input_ids.size(1);

  WorkloadResult result;
  result.tokens_per_step = batch.attention_mask.sum().item<int64_t>();
  for (int64_t step = 0; step < args.warmup + args.steps; ++step) {
    const StepTimer timer;
    std::optional<AutocastScope> mixed_precision(std::in_place, c10::Device(c10::kCPU), args.bf16);  // as the loop
    // As the trainer: the reference's forward (without a graph) beside the policy's (ReferenceModel::run_beside).
    TokenStats stats;
    dpo::DpoTokenInputs tokens;
    tokens.ref_per_token_logps = reference.run_beside(
        [&](const CausalLM& ref) {
          const at::Tensor ref_hidden = dpo::pair_hidden_states(ref, batch.input_ids, batch.attention_mask);
          return token_stats(ref, ref_hidden.narrow(1, 0, T - 1), batch.labels).logps;
        },
        [&] {
          const at::Tensor hidden = dpo::pair_hidden_states(*policy, batch.input_ids, batch.attention_mask);  // (2B, T, H)
          stats = token_stats(*policy, hidden.narrow(1, 0, T - 1), batch.labels);
        });
    tokens.per_token_logps = stats.logps;
    tokens.label_mask = batch.labels.ne(kIgnoreIndex);
    tokens.completion_mask = batch.completion_mask;
    const dpo::DpoLossResult loss = dpo::dpo_loss(dpo::dpo_loss_inputs(tokens, loss_config), loss_config);
    mixed_precision.reset();  // the backward pass outside autocast, as the training loop
    loss.loss.backward();
    const double grad_norm = clip_grad_norm(policy->parameters(), max_grad_norm);
    optimizer->step();
    drop_gradients(policy->parameters());
    timer.finish(result, step >= args.warmup);
    if (step < 2) {
      const auto as_vector = [](const at::Tensor& t) {
        const at::Tensor c = t.to(at::kDouble).contiguous();
        return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
      };
      result.check.push_back({{"loss", loss.loss.item<double>()},
                              {"grad_norm", grad_norm},
                              {"chosen_logps", as_vector(loss.chosen_logps)},
                              {"rejected_logps", as_vector(loss.rejected_logps)}});
    }
  }
  return result;
}

}  // namespace trl::bench
