// The gfpo trainer's GRPOConfig options that live outside the loss function: TR-DPO's reference sync
// (sync_ref_model, TRL's SyncRefModelCallback), dapo's N rescaled to the accumulation window, and the
// entropy bonus with its adaptive controller (entropy_coef, use_adaptive_entropy; TRL 1.16
// grpo_trainer._compute_loss).
#include <cmath>

#include <ATen/core/grad_mode.h>

#include "gfpo_trainer_test_support.h"
#include "trl/sdk/model/causal_lm.h"
#include "trl/sdk/model/lora.h"

namespace {

using gfpo_test::Harness;

// The loss and metrics of micro-step 0 under `args` (everything else the harness's defaults, seed 7 model).
struct Step {
  double loss = 0.0;
  nlohmann::json metrics;
};
Step first_step(const nlohmann::json::object_t& args) {
  at::set_num_threads(1);
  Harness h(args);
  h.prepare();
  trl::Metrics metrics;
  Step s;
  s.loss = h.loss_at(0, metrics).item<double>();
  s.metrics = metrics.means();
  return s;
}

void add_to_every_weight(const trl::CausalLM& model, double value) {
  const at::NoGradGuard no_grad;
  for (const at::Tensor& p : model.parameters()) p.add_(value);
}

// ---- TR-DPO ------------------------------------------------------------------------------------------

// ref <- (1 - alpha) ref + alpha policy after optimizer steps 2, 4, ... (ref_model_sync_steps 2), never between.
TEST(GfpoTrainerRefSync, MixesThePolicyInEveryRefModelSyncSteps) {
  at::set_num_threads(1);
  Harness h({{"beta", 0.04}, {"sync_ref_model", true}, {"ref_model_sync_steps", 2}, {"ref_model_mixup_alpha", 0.25}});
  h.prepare();
  trl::CausalLM* ref = h.trainer->ref_model();
  ASSERT_NE(ref, nullptr);
  const std::vector<at::Tensor> initial = gfpo_test::snapshot(*ref);
  add_to_every_weight(*h.model, 1.0);  // the policy moves away from the reference
  const std::vector<at::Tensor> policy = gfpo_test::snapshot(*h.model);

  h.trainer->on_optimizer_step(*h.ctx, 1);
  std::vector<at::Tensor> now = gfpo_test::snapshot(*ref);
  for (size_t i = 0; i < now.size(); ++i) EXPECT_TRUE(at::equal(now[i], initial[i])) << "synced at step 1";

  h.trainer->on_optimizer_step(*h.ctx, 2);
  now = gfpo_test::snapshot(*ref);
  std::vector<at::Tensor> expected;
  for (size_t i = 0; i < now.size(); ++i) {
    expected.push_back(initial[i] * 0.75 + policy[i] * 0.25);
    EXPECT_TRUE(at::allclose(now[i], expected[i], 1e-6, 1e-6)) << "parameter " << i << " at step 2";
  }
  h.trainer->on_optimizer_step(*h.ctx, 3);
  now = gfpo_test::snapshot(*ref);
  for (size_t i = 0; i < now.size(); ++i) EXPECT_TRUE(at::equal(now[i], expected[i])) << "synced at step 3";
  h.trainer->on_optimizer_step(*h.ctx, 4);
  now = gfpo_test::snapshot(*ref);
  for (size_t i = 0; i < now.size(); ++i)
    EXPECT_TRUE(at::allclose(now[i], expected[i] * 0.75 + policy[i] * 0.25, 1e-6, 1e-6)) << "parameter " << i;
}

// Without sync_ref_model the reference never moves, whatever the step.
TEST(GfpoTrainerRefSync, ReferenceStaysFrozenWithoutSync) {
  at::set_num_threads(1);
  Harness h({{"beta", 0.04}, {"ref_model_sync_steps", 1}});
  h.prepare();
  const std::vector<at::Tensor> initial = gfpo_test::snapshot(*h.trainer->ref_model());
  add_to_every_weight(*h.model, 1.0);
  for (int64_t step = 1; step <= 3; ++step) h.trainer->on_optimizer_step(*h.ctx, step);
  const std::vector<at::Tensor> now = gfpo_test::snapshot(*h.trainer->ref_model());
  for (size_t i = 0; i < now.size(); ++i) EXPECT_TRUE(at::equal(now[i], initial[i]));
}

// TRL's GRPOTrainer refuses both: beta 0 (no reference model exists) and PEFT (the reference is the policy
// with its adapters off).
TEST(GfpoTrainerRefSync, RefusesBetaZeroAndPeft) {
  at::set_num_threads(1);
  {
    Harness h({{"sync_ref_model", true}});
    const std::string message = gfpo_test::config_error_of([&] { h.prepare(); });
    EXPECT_NE(message.find("args: sync_ref_model: is true while beta is 0"), std::string::npos) << message;
  }
  Harness h({{"beta", 0.04}, {"sync_ref_model", true}});
  h.run.peft = {{"r", 2}};
  trl::add_lora_adapters(*h.model, trl::LoraConfig{}, 1);
  const std::string message = gfpo_test::config_error_of([&] { h.prepare(); });
  EXPECT_NE(message.find("args.sync_ref_model: TR-DPO (sync_ref_model) is not supported with a peft block"),
            std::string::npos)
      << message;
}

// The synced reference is part of the checkpoint: a resumed run continues from the moved reference.
TEST(GfpoTrainerRefSync, CheckpointKeepsTheMovedReference) {
  at::set_num_threads(1);
  Harness h({{"beta", 0.04}, {"sync_ref_model", true}, {"ref_model_sync_steps", 1}});
  h.prepare();
  add_to_every_weight(*h.model, 0.5);
  h.trainer->on_optimizer_step(*h.ctx, 1);
  const std::vector<at::Tensor> moved = gfpo_test::snapshot(*h.trainer->ref_model());
  const std::string checkpoint = h.dir.path() + "/checkpoint-1";
  gfpo_test::fs::create_directories(checkpoint);
  h.trainer->save_state(*h.ctx, checkpoint);

  Harness resumed({{"beta", 0.04}, {"sync_ref_model", true}, {"ref_model_sync_steps", 1}});
  resumed.prepare();
  resumed.trainer->load_state(*resumed.ctx, checkpoint);
  const std::vector<at::Tensor> loaded = gfpo_test::snapshot(*resumed.trainer->ref_model());
  for (size_t i = 0; i < loaded.size(); ++i) EXPECT_TRUE(at::allclose(loaded[i], moved[i], 0.0, 0.0)) << i;

  gfpo_test::fs::remove_all(checkpoint + "/ref_model");
  Harness missing({{"beta", 0.04}, {"sync_ref_model", true}, {"ref_model_sync_steps", 1}});
  missing.prepare();
  EXPECT_THROW(missing.trainer->load_state(*missing.ctx, checkpoint), trl::CheckpointError);
}

// ---- dapo's window rescaling ---------------------------------------------------------------------------

// trl 1.16: with a generation batch cut into steps_per_generation micro-batches over fewer accumulation steps,
// dapo divides by N x GA / steps_per_generation (here N / 2), so each optimizer step is its own token mean.
TEST(GfpoTrainerDapo, NormaliserIsRescaledToTheAccumulationWindow) {
  at::set_num_threads(1);
  Harness h({{"steps_per_generation", 2}});
  h.prepare();
  trl::Metrics metrics;
  const double loss = h.loss_at(0, metrics).item<double>();
  const trl::gfpo::GenerationBuffer& buffer = h.trainer->buffer();
  ASSERT_EQ(buffer.chunks.size(), 2u);
  trl::gfpo::LossSettings settings;
  settings.num_items_in_batch = buffer.num_items_in_batch;
  const double whole_batch = trl::gfpo::micro_batch_loss(*h.model, buffer.chunks[0], settings).loss.item<double>();
  settings.steps_per_generation = 2;
  const double window = trl::gfpo::micro_batch_loss(*h.model, buffer.chunks[0], settings).loss.item<double>();
  EXPECT_NEAR(window, 2 * whole_batch, 1e-7);
  EXPECT_NEAR(loss, window, 1e-7);
  EXPECT_GT(std::fabs(whole_batch), 1e-6) << "a zero loss would not tell the two apart";
}

// ---- entropy bonus -----------------------------------------------------------------------------------

// The same micro-batch with entropy_coef c: loss - c x the logged mean entropy (GA 1), policy_loss logged as
// the loss without it, and entropy_coef logged once the window ends.
TEST(GfpoTrainerEntropy, BonusChangesTheLossByCoefTimesMeanEntropy) {
  const Step plain = first_step({});
  const Step bonus = first_step({{"entropy_coef", 0.3}});
  const double entropy = bonus.metrics.at("entropy").get<double>();
  EXPECT_GT(entropy, 0.1);
  EXPECT_NEAR(bonus.loss, plain.loss - 0.3 * entropy, 1e-6);
  EXPECT_NEAR(bonus.metrics.at("policy_loss").get<double>(), plain.loss, 1e-6);
  EXPECT_DOUBLE_EQ(bonus.metrics.at("entropy_coef").get<double>(), 0.3);
  EXPECT_FALSE(plain.metrics.contains("policy_loss"));
  EXPECT_FALSE(plain.metrics.contains("entropy_coef"));
}

// The bonus trains: it adds coef x dH/dθ to the gradient (the entropy is differentiable here).
TEST(GfpoTrainerEntropy, BonusReachesTheGradient) {
  at::set_num_threads(1);
  std::vector<std::vector<at::Tensor>> grads;
  for (double coef : {0.0, 0.3}) {
    Harness h({{"entropy_coef", coef}});
    h.prepare();
    trl::Metrics metrics;
    h.loss_at(0, metrics).backward();
    grads.push_back(gfpo_test::gradients(*h.model));
  }
  double difference = 0.0;
  for (size_t i = 0; i < grads[0].size(); ++i) difference += (grads[0][i] - grads[1][i]).abs().sum().item<double>();
  EXPECT_GT(difference, 1e-4);
}

// Adaptive control (Skywork-OR1, TRL 1.16): no bonus before the first window is measured; at each window's
// end the coefficient moves by entropy_coef_delta toward more bonus while the entropy is <= entropy_target,
// less otherwise, within [entropy_coef_min, entropy_coef_max]; the bonus applies only below the target.
TEST(GfpoTrainerEntropy, AdaptiveControllerMovesOncePerWindow) {
  at::set_num_threads(1);
  const Step plain = first_step({{"gradient_accumulation_steps", 2}});
  // Entropy below the target (nats; the tiny model's entropy is about ln 320 = 5.8 at most).
  Harness h({{"use_adaptive_entropy", true}, {"entropy_coef", 0.1}, {"entropy_target", 100.0},
             {"entropy_coef_delta", 0.05}, {"entropy_coef_max", 0.2}, {"gradient_accumulation_steps", 2}});
  h.prepare();
  EXPECT_DOUBLE_EQ(h.trainer->applied_entropy_coef(), 0.0);
  trl::Metrics metrics;
  EXPECT_NEAR(h.loss_at(0, metrics).item<double>(), plain.loss, 1e-7) << "the first window applies no bonus";
  EXPECT_DOUBLE_EQ(h.trainer->entropy_coef(), 0.1) << "moved before the window ended";
  EXPECT_FALSE(metrics.means().contains("entropy_coef"));
  h.loss_at(1, metrics);
  EXPECT_DOUBLE_EQ(h.trainer->entropy_coef(), 0.15);
  EXPECT_DOUBLE_EQ(metrics.means().at("entropy_coef").get<double>(), 0.15);
  EXPECT_DOUBLE_EQ(h.trainer->applied_entropy_coef(), 0.15);
  h.loss_at(2, metrics);
  h.loss_at(3, metrics);
  EXPECT_DOUBLE_EQ(h.trainer->entropy_coef(), 0.2) << "clamped at entropy_coef_max";

  // Entropy above the target: down by delta, clamped at entropy_coef_min, and no bonus applied.
  Harness high({{"use_adaptive_entropy", true}, {"entropy_coef", 0.1}, {"entropy_target", 0.0},
                {"entropy_coef_delta", 0.08}, {"entropy_coef_min", 0.05}});
  high.prepare();
  trl::Metrics m;
  high.loss_at(0, m);
  EXPECT_DOUBLE_EQ(high.trainer->entropy_coef(), 0.05);
  EXPECT_DOUBLE_EQ(high.trainer->applied_entropy_coef(), 0.0);
}

// The controller's state is checkpointed (TRL's entropy_ctrl_state.json), so a resumed run applies the same
// coefficient; +inf (no window yet) round-trips through JSON null.
TEST(GfpoTrainerEntropy, ControllerStateIsCheckpointed) {
  at::set_num_threads(1);
  const nlohmann::json::object_t args = {{"use_adaptive_entropy", true}, {"entropy_coef", 0.1},
                                         {"entropy_target", 100.0}, {"entropy_coef_delta", 0.05}};
  Harness h(args);
  h.prepare();
  const std::string fresh = h.dir.path() + "/checkpoint-0";
  gfpo_test::fs::create_directories(fresh);
  h.trainer->save_state(*h.ctx, fresh);
  trl::Metrics metrics;
  h.loss_at(0, metrics);
  const std::string checkpoint = h.dir.path() + "/checkpoint-1";
  gfpo_test::fs::create_directories(checkpoint);
  h.trainer->save_state(*h.ctx, checkpoint);

  Harness resumed(args);
  resumed.prepare();
  resumed.trainer->load_state(*resumed.ctx, checkpoint);
  EXPECT_DOUBLE_EQ(resumed.trainer->entropy_coef(), 0.15);
  EXPECT_DOUBLE_EQ(resumed.trainer->applied_entropy_coef(), 0.15);
  resumed.trainer->load_state(*resumed.ctx, fresh);
  EXPECT_DOUBLE_EQ(resumed.trainer->entropy_coef(), 0.1);
  EXPECT_DOUBLE_EQ(resumed.trainer->applied_entropy_coef(), 0.0);
}

// Every TRL 1.16 loss type trains through the trainer and logs its own metrics.
TEST(GfpoTrainerEntropy, EveryLossTypeLogsItsMetrics) {
  const Step cispo = first_step({{"loss_type", "cispo"}, {"epsilon_high", 5.0}});
  EXPECT_TRUE(cispo.metrics.contains("cispo_clip_ratio"));
  EXPECT_FALSE(cispo.metrics.contains("clip_ratio/low_mean"));
  const Step vespo = first_step({{"loss_type", "vespo"}});
  EXPECT_DOUBLE_EQ(vespo.metrics.at("vespo/phi_seq_mean").get<double>(), 1.0) << "on-policy: w = 1, phi = 1";
  const Step sapo = first_step({{"loss_type", "sapo"}});
  EXPECT_FALSE(sapo.metrics.contains("clip_ratio/low_mean"));
  EXPECT_TRUE(sapo.metrics.contains("entropy"));
  const Step luspo = first_step({{"loss_type", "luspo"}, {"importance_sampling_level", "sequence"}});
  EXPECT_TRUE(luspo.metrics.contains("clip_ratio/region_mean"));
  for (const Step* s : {&cispo, &vespo, &sapo, &luspo}) EXPECT_TRUE(std::isfinite(s->loss));
}

}  // namespace
