// The gfpo trainer's loss step and bookkeeping through the SDK's TrainingLoop: truncation masking (spec §5
// item 15), None rewards (§5 item 16), the logged metric names (§3.5), the reference model (beta), the
// completions log and exact resume from a checkpoint taken in the middle of a generation batch.
#include <fstream>

#include <ATen/core/grad_mode.h>

#include "gfpo_trainer_test_support.h"
#include "trl/sdk/model/causal_lm.h"

namespace {

using gfpo_test::FunctionReward;
using gfpo_test::Harness;

// Sharpens the tiny model and makes EOS impossible to sample: the EOS row of the (tied) lm_head is zeroed
// (logit exactly 0) and every other row scaled up, so the best token's logit is far above 0 everywhere.
void forbid_eos(trl::CausalLM& model) {
  const at::NoGradGuard no_grad;
  at::Tensor w = model.lm_head_weight();  // (V, H), shares storage with the model
  w.mul_(60.0);
  w[gfpo_test::kEos].zero_();
}

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

// Runs the SDK's loop over the harness (prepare included) and returns its result.
trl::TrainResult train(Harness& h) {
  h.ctx = std::make_unique<trl::TrainerContext>(trl::TrainerContext{h.run, *h.training_args, h.args, *h.model,
                                                                    *h.tokenizer, h.provider, c10::Device(c10::kCPU),
                                                                    c10::kFloat});
  h.trainer = std::make_unique<trl::gfpo::GfpoTrainer>(h.args);
  trl::TrainingLoop loop(*h.ctx, *h.trainer, {});
  return loop.run();
}

bool same_weights(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b) {
  for (size_t i = 0; i < a.size(); ++i)
    if (!at::equal(a[i], b[i])) return false;
  return true;
}

TEST(GfpoTrainerLoss, AllTruncatedAndMaskedTrainsNothing) {
  // spec §5 item 15: dapo, every completion truncated, mask_truncated_completions: loss 0, weights unchanged.
  at::set_num_threads(1);
  for (bool mask : {true, false}) {
    Harness h({{"mask_truncated_completions", mask}, {"max_steps", 2}, {"max_completion_length", 4}});
    forbid_eos(*h.model);
    const std::vector<at::Tensor> before = gfpo_test::snapshot(*h.model);
    const trl::TrainResult result = train(h);
    const std::vector<nlohmann::json> log = read_jsonl(h.dir.path() + "/out/metrics.jsonl");
    ASSERT_GE(log.size(), 2u);
    EXPECT_DOUBLE_EQ(log[0].at("completions/clipped_ratio").get<double>(), 1.0) << "precondition: all truncated";
    if (mask) {
      EXPECT_EQ(result.train_loss, 0.0);
      EXPECT_TRUE(same_weights(before, gfpo_test::snapshot(*h.model))) << "a masked completion moved the weights";
    } else {
      // Without the mask the same completions do train: the check above is not vacuous.
      EXPECT_FALSE(same_weights(before, gfpo_test::snapshot(*h.model)));
    }
  }
}

TEST(GfpoTrainerLoss, MixedTruncationStillTrainsWithTheMask) {
  // spec §5 item 15, second half: with some completions terminated by EOS, training updates the weights.
  at::set_num_threads(1);
  Harness h({{"mask_truncated_completions", true}, {"max_steps", 2}, {"max_completion_length", 8},
             {"per_device_train_batch_size", 16}},
            /*prompts=*/8);
  {
    // Make EOS likely (logit 40x that of token 'a'), so that some rows end early and some do not. Every group
    // is sampled in its own generate() call (per-group seeds): within 3 tokens no row ended, within 8 some do.
    const at::NoGradGuard no_grad;
    at::Tensor w = h.model->lm_head_weight();
    w[gfpo_test::kEos].copy_(w['a'] * 40.0);
  }
  const std::vector<at::Tensor> before = gfpo_test::snapshot(*h.model);
  train(h);
  // Precondition: some step trained on a mix of truncated and terminated completions.
  bool mixed = false;
  for (const nlohmann::json& entry : read_jsonl(h.dir.path() + "/out/metrics.jsonl")) {
    const double clipped = entry.value("completions/clipped_ratio", -1.0);
    mixed = mixed || (clipped > 0.0 && clipped < 1.0);
  }
  ASSERT_TRUE(mixed) << "precondition: a generation with both truncated and terminated completions";
  EXPECT_FALSE(same_weights(before, gfpo_test::snapshot(*h.model)));
}

TEST(GfpoTrainerLoss, NoneOnlyRewardWarnsAndGivesZeroAdvantages) {
  // spec §5 item 16.
  Harness h({}, 4, {"none"});
  h.provider.rewards["none"] = [] {
    return std::make_unique<FunctionReward>([](const trl::RewardInput&, size_t) { return std::nullopt; }, nullptr);
  };
  h.prepare();
  trl::Metrics metrics;
  testing::internal::CaptureStderr();
  const at::Tensor loss = h.loss_at(0, metrics);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("All reward functions returned None for the following kwargs:"), std::string::npos) << err;
  EXPECT_EQ(loss.item<double>(), 0.0);
  for (const auto& chunk : h.trainer->buffer().chunks) EXPECT_TRUE(at::all(chunk.advantages.eq(0)).item<bool>());
  // rewards/none/* are NaN (no row scored) and are dropped, as TRL's log() drops NaN.
  const nlohmann::json logged = metrics.means();
  EXPECT_FALSE(logged.contains("rewards/none/mean"));
}

TEST(GfpoTrainerLoss, NoneRewardBesideAValidOneStillTrains) {
  Harness h({}, 4, {"none", "id_sum"});
  h.provider.rewards["none"] = [] {
    return std::make_unique<FunctionReward>([](const trl::RewardInput&, size_t) { return std::nullopt; }, nullptr);
  };
  h.prepare();
  trl::Metrics metrics;
  testing::internal::CaptureStderr();
  h.loss_at(0, metrics).backward();
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(err.find("All reward functions returned None"), std::string::npos) << err;
  double norm = 0;
  for (const at::Tensor& g : gfpo_test::gradients(*h.model)) norm += g.pow(2).sum().item<double>();
  EXPECT_GT(norm, 0.0);
  const nlohmann::json logged = metrics.means();
  EXPECT_TRUE(logged.contains("rewards/id_sum/mean"));
  EXPECT_FALSE(logged.contains("rewards/none/mean"));
}

TEST(GfpoTrainerLoss, LogsTrlMetricNames) {
  Harness h({{"beta", 0.04}});
  h.prepare();
  ASSERT_NE(h.trainer->ref_model(), nullptr) << "beta != 0 needs a reference model";
  trl::Metrics metrics;
  h.loss_at(0, metrics);
  const nlohmann::json logged = metrics.means();
  for (const char* name :
       {"reward", "reward_std", "rewards/id_sum/mean", "rewards/id_sum/std", "frac_reward_zero_std",
        "completions/mean_length", "completions/min_length", "completions/max_length", "completions/clipped_ratio",
        "completions/mean_terminated_length", "completions/min_terminated_length",
        "completions/max_terminated_length", "num_tokens", "kl", "entropy", "clip_ratio/low_mean",
        "clip_ratio/high_mean", "clip_ratio/region_mean", "clip_ratio/low_min", "clip_ratio/high_max"})
    EXPECT_TRUE(logged.contains(name)) << name << " missing from " << logged.dump();
  // The policy starts as the reference: the k3 KL is 0 at the first step.
  EXPECT_NEAR(logged.at("kl").get<double>(), 0.0, 1e-6);
  // num_tokens counts prompt and completion tokens of the generation batch.
  double tokens = 0;
  for (const auto& chunk : h.trainer->buffer().chunks)
    tokens += chunk.prompt_mask.sum().item<double>() + chunk.completion_mask.sum().item<double>();
  EXPECT_DOUBLE_EQ(logged.at("num_tokens").get<double>(), tokens);
}

TEST(GfpoTrainerLoss, NoReferenceModelWhenBetaIsZero) {
  Harness h({});
  h.prepare();
  EXPECT_EQ(h.trainer->ref_model(), nullptr);
  trl::Metrics metrics;
  h.loss_at(0, metrics);
  EXPECT_FALSE(metrics.means().contains("kl"));
}

TEST(GfpoTrainerLoss, CompletionsLogMarksKeptRowsAtLoggingSteps) {
  at::set_num_threads(1);
  Harness h({{"max_steps", 3}, {"logging_steps", 2}, {"num_remains_in_group", 2}}, 4, {"id_sum"},
            {{"name", "pick"}});
  auto log = std::make_shared<gfpo_test::FilterLog>();
  h.provider.filters["pick"] = [log] {
    return std::make_unique<gfpo_test::RecordingFilter>(gfpo_test::first_id_scores, log);
  };
  train(h);
  const std::vector<nlohmann::json> rows = read_jsonl(h.dir.path() + "/out/completions.jsonl");
  // Logging at step 2 only (3 steps, logging_steps 2): generation 1's 4 rows (one prompt x G 4).
  ASSERT_EQ(rows.size(), 4u);
  int kept = 0;
  for (const nlohmann::json& row : rows) {
    EXPECT_EQ(row.at("step"), 2);
    EXPECT_EQ(row.at("generation"), 1);
    for (const char* key : {"prompt", "completion", "rewards", "reward", "advantage", "kept", "length", "truncated"})
      EXPECT_TRUE(row.contains(key)) << key;
    EXPECT_TRUE(row.at("rewards").contains("id_sum"));
    EXPECT_EQ(row.at("kept").get<bool>(), !row.at("advantage").is_null());
    kept += row.at("kept").get<bool>() ? 1 : 0;
  }
  EXPECT_EQ(kept, 2);
}

TEST(GfpoTrainerLoss, ResumeMidGenerationMatchesAnUninterruptedRun) {
  // mu 2: each generation batch serves two optimizer steps, so checkpoint-1 falls inside one; the resumed
  // run must train on the buffered rows (and old log-probs) and end with bit-identical weights.
  at::set_num_threads(1);
  const nlohmann::json::object_t base = {{"max_steps", 4}, {"num_iterations", 2}, {"steps_per_generation", 1},
                                         {"save_steps", 1}};
  Harness full(base);
  train(full);
  const std::string checkpoint = full.dir.path() + "/out/checkpoint-1";
  ASSERT_TRUE(gfpo_test::fs::exists(checkpoint + "/gfpo_buffer.safetensors"));

  nlohmann::json::object_t resumed_args = base;
  resumed_args["resume_from_checkpoint"] = checkpoint;
  Harness resumed(resumed_args);
  train(resumed);
  EXPECT_TRUE(same_weights(gfpo_test::snapshot(*full.model), gfpo_test::snapshot(*resumed.model)));

  // The logged metrics after the checkpoint agree too (same rows, same losses).
  const std::vector<nlohmann::json> a = read_jsonl(full.dir.path() + "/out/metrics.jsonl");
  const std::vector<nlohmann::json> b = read_jsonl(resumed.dir.path() + "/out/metrics.jsonl");
  ASSERT_GE(a.size(), 4u);
  ASSERT_GE(b.size(), 4u);
  for (size_t step = 1; step < 4; ++step)
    EXPECT_DOUBLE_EQ(a[step].at("loss").get<double>(), b[step].at("loss").get<double>()) << "step " << step + 1;
}

}  // namespace
