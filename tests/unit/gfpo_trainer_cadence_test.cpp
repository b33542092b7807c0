// The gfpo trainer's generation cadence and rollout buffer (spec §3.1 "Sampler", "Generation cadence",
// "Old log-probs"; §5 item 13), driven micro-step by micro-step as the SDK's loop calls compute_loss.
#include <set>

#include "gfpo_trainer_test_support.h"
#include "grpo_sampler.h"

namespace {

using gfpo_test::FunctionReward;
using gfpo_test::Harness;
using gfpo_test::RewardLog;

// A counting id_sum reward under the name "id_sum".
std::shared_ptr<RewardLog> count_rewards(Harness& h) {
  auto log = std::make_shared<RewardLog>();
  h.provider.rewards["id_sum"] = [log] { return std::make_unique<FunctionReward>(gfpo_test::id_sum_reward, log); };
  return log;
}

// The (prompt text, completion) pairs of a micro-batch's rows, to compare micro-batches.
std::multiset<std::vector<int64_t>> rows_of(const trl::gfpo::MicroBatch& b) {
  std::multiset<std::vector<int64_t>> out;
  const at::Tensor ids = at::cat({b.prompt_ids, b.completion_ids}, 1).contiguous();
  for (int64_t r = 0; r < ids.size(0); ++r)
    out.insert(std::vector<int64_t>(ids[r].data_ptr<int64_t>(), ids[r].data_ptr<int64_t>() + ids.size(1)));
  return out;
}

TEST(GfpoTrainerCadence, GeneratesEveryStepsPerGenerationTimesNumIterations) {
  // 4 rows per micro-batch, steps_per_generation 2, mu 2: generation batches of 8 rows (2 prompts x G 4),
  // each serving 4 micro-steps; 4 prompts make 2 generation batches per epoch.
  Harness h({{"steps_per_generation", 2}, {"num_iterations", 2}, {"gradient_accumulation_steps", 2}});
  auto log = count_rewards(h);
  trl::gfpo::GfpoTrainer& trainer = h.prepare();
  EXPECT_EQ(trainer.micro_batches_per_epoch(), 8);
  EXPECT_EQ(trainer.config().generation_batch_size, 8);

  std::vector<size_t> calls_after;
  std::vector<std::multiset<std::vector<int64_t>>> rows;
  trl::Metrics metrics;
  for (int64_t step = 0; step < 12; ++step) {
    h.loss_at(step, metrics);
    calls_after.push_back(log->calls.size());
    EXPECT_EQ(trainer.buffer().generation, step / 4) << "micro-step " << step;
    ASSERT_EQ(trainer.buffer().chunks.size(), 2u);
    rows.push_back(rows_of(trainer.buffer().chunks[static_cast<size_t>(step % 2)]));
  }
  // One generation (one reward call) at micro-steps 0, 4 and 8 only (the third is epoch 2's first).
  EXPECT_EQ(calls_after, (std::vector<size_t>{1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3}));
  for (const trl::RewardInput& input : log->calls) EXPECT_EQ(input.completions.size(), 8u);
  // The buffer is reused: micro-steps 0 and 2 (iteration 2) train on the same half, 1 and 3 on the other.
  EXPECT_EQ(rows[0], rows[2]);
  EXPECT_EQ(rows[1], rows[3]);
  EXPECT_NE(rows[0], rows[1]);
  EXPECT_EQ(rows[0].size(), 4u);
  EXPECT_NE(rows[0], rows[4]);  // a new generation batch
}

TEST(GfpoTrainerCadence, GenerationRowsFollowTheRepeatSampler) {
  Harness h({{"steps_per_generation", 2}, {"num_iterations", 1}}, /*prompts=*/6);
  auto log = count_rewards(h);
  h.prepare();
  trl::Metrics metrics;
  h.loss_at(0, metrics);
  h.loss_at(2, metrics);
  ASSERT_EQ(log->calls.size(), 2u);
  // TRL's RepeatSampler: shuffled with the seed, each prompt G times in a row (spec §5 item 13).
  const trl::gfpo::RepeatSampler sampler(6, 4, 8, 2, 1, /*shuffle=*/true, /*seed=*/3);
  for (int64_t g = 0; g < 2; ++g) {
    const std::vector<int64_t> expected = sampler.generation_rows(g);
    const trl::RewardInput& input = log->calls[static_cast<size_t>(g)];
    ASSERT_EQ(input.prompts.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      const std::string prefix = "p" + std::to_string(expected[i]) + ":";
      EXPECT_EQ(input.prompts[i].rfind(prefix, 0), 0u) << "row " << i << ": " << input.prompts[i];
      EXPECT_EQ(input.columns[i].at("answer").get<int64_t>(), expected[i]);
    }
  }
}

TEST(GfpoTrainerCadence, SameSeedSamplesTheSameCompletions) {
  // Generation is seeded by (seed, generation index), not by the global RNG.
  std::vector<std::vector<std::vector<int64_t>>> runs;
  for (int run = 0; run < 2; ++run) {
    Harness h({{"steps_per_generation", 1}});
    auto log = count_rewards(h);
    h.prepare();
    at::manual_seed(1000 + run);  // a different global RNG must not matter
    trl::Metrics metrics;
    h.loss_at(0, metrics);
    runs.push_back(log->calls.at(0).completion_ids);
  }
  EXPECT_EQ(runs[0], runs[1]);
}

TEST(GfpoTrainerCadence, OldLogProbsOnlyWhenThePolicyCanChangeBeforeUse) {
  trl::Metrics metrics;
  {
    // GA 2 covers the whole generation batch (steps_per_generation 2, mu 1): old = current, not stored.
    Harness h({{"gradient_accumulation_steps", 2}});
    h.prepare();
    h.loss_at(0, metrics);
    for (const auto& chunk : h.trainer->buffer().chunks) EXPECT_FALSE(chunk.old_logps.defined());
  }
  {
    // mu 2: the second pass runs after an optimizer step, so the old log-probs are computed at generation.
    Harness h({{"gradient_accumulation_steps", 2}, {"num_iterations", 2}});
    h.prepare();
    h.loss_at(0, metrics);
    for (const auto& chunk : h.trainer->buffer().chunks) {
      ASSERT_TRUE(chunk.old_logps.defined());
      EXPECT_EQ(chunk.old_logps.sizes(), chunk.completion_ids.sizes());
      // Taken with the same weights and padding as the loss, so the first pass has a ratio of exactly 1.
      const at::Tensor now = trl::gfpo::completion_logps_no_grad(*h.model, chunk, 1.0);
      EXPECT_TRUE(at::equal(now, chunk.old_logps));
    }
  }
}

TEST(GfpoTrainerCadence, DatasetSmallerThanOneGenerationBatchIsAConfigError) {
  Harness h({{"steps_per_generation", 4}}, /*prompts=*/3);  // needs 4 prompts per generation
  const std::string message = gfpo_test::config_error_of([&] { h.prepare(); });
  EXPECT_NE(message.find("train_dataset"), std::string::npos) << message;
  EXPECT_NE(message.find("3 prompts"), std::string::npos) << message;
}

}  // namespace
