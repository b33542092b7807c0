// GRPO batching index math (spec §3.1, §5 items 13 and 20). The shuffled order is compared with TRL's
// RepeatSampler run under torch 1.13 (tests/golden/make_grpo_golden.py, seed 42): exact integers.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "grpo_sampler.h"

namespace {

using trl::gfpo::RepeatSampler;

const nlohmann::json& golden() {
  static const nlohmann::json data = [] {
    std::ifstream in(std::string(TRL_TEST_DATA_DIR) + "/golden/grpo_golden.json");
    return nlohmann::json::parse(in);
  }();
  return data;
}

// The list TRL passes to training_step at each micro-step, replayed from our sampler.
std::vector<std::vector<int64_t>> training_step_inputs(const RepeatSampler& sampler, int64_t epochs) {
  std::vector<std::vector<int64_t>> calls;
  for (int64_t step = 0; step < epochs * sampler.micro_steps_per_epoch(); ++step)
    calls.push_back(sampler.generation_rows(sampler.generation_index(step)));
  return calls;
}

// spec §5 item 13 (TRL's test_prepare_input_called_with_correct_data): shuffle_dataset=False,
// per_device_train_batch_size=6, steps_per_generation=4, G=4, num_iterations=2, 17 prompts, 3 epochs.
TEST(GrpoSampler, ReproducesTrlTrainingStepCalls) {
  const int64_t generation_batch_size = 6 * 4;  // per_device_bs * steps_per_generation
  const RepeatSampler sampler(17, 4, generation_batch_size, 4, 2, /*shuffle=*/false, 42);
  EXPECT_EQ(sampler.prompts_per_generation(), 6);
  EXPECT_EQ(sampler.generations_per_epoch(), 2);  // the incomplete third chunk (5 prompts) is dropped
  const auto calls = training_step_inputs(sampler, 3);
  ASSERT_EQ(calls.size(), 48u);
  std::vector<int64_t> first, second;
  for (int64_t p = 0; p < 6; ++p) first.insert(first.end(), 4, p);
  for (int64_t p = 6; p < 12; ++p) second.insert(second.end(), 4, p);
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(calls[i], first) << "call " << i;
  for (size_t i = 8; i < 16; ++i) EXPECT_EQ(calls[i], second) << "call " << i;
  // Without shuffling every epoch repeats the same order.
  for (size_t i = 16; i < 48; ++i) EXPECT_EQ(calls[i], calls[i % 16]) << "call " << i;
  // Generation happens once per generation batch: micro-steps 0, 8, 16, ...
  for (int64_t step = 0; step < 48; ++step) EXPECT_EQ(sampler.generates_at(step), step % 8 == 0) << step;
}

// The same geometry shuffled with seed 42 gives exactly TRL's index stream, epoch after epoch.
TEST(GrpoSampler, ShuffledOrderMatchesTrl) {
  const auto& g = golden().at("sampler");
  const int64_t G = g.at("num_generations");
  const int64_t prompts_per_generation = g.at("prompts_per_generation");
  const RepeatSampler sampler(g.at("num_prompts"), G, prompts_per_generation * G, /*steps_per_generation=*/4,
                              /*num_iterations=*/2, /*shuffle=*/true, g.at("seed").get<uint64_t>());
  const auto& permutations = g.at("epoch_permutations");
  for (int64_t epoch = 0; epoch < 3; ++epoch)
    EXPECT_EQ(sampler.epoch_permutation(epoch), permutations.at(epoch).get<std::vector<int64_t>>()) << epoch;
  // TRL's stream per epoch: each generation batch's rows, repeated repeat_count (= 8) times.
  const auto& streams = g.at("epoch_streams");
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    std::vector<int64_t> stream;
    for (int64_t k = 0; k < sampler.generations_per_epoch(); ++k) {
      const auto rows = sampler.generation_rows(epoch * sampler.generations_per_epoch() + k);
      for (int r = 0; r < g.at("repeat_count").get<int>(); ++r) stream.insert(stream.end(), rows.begin(), rows.end());
    }
    EXPECT_EQ(stream, streams.at(epoch).get<std::vector<int64_t>>()) << "epoch " << epoch;
  }
}

// Micro-step s uses part s mod steps_per_generation of its buffered batch; the parts of one generation
// batch are disjoint, floor-sized, and the same for every reuse (num_iterations).
TEST(GrpoSampler, MicroBatchesPartitionTheBuffer) {
  const RepeatSampler sampler(40, 4, 16, /*steps_per_generation=*/3, /*num_iterations=*/2, true, 7);
  std::set<int64_t> seen;
  for (int64_t step = 0; step < 3; ++step) {
    const auto rows = sampler.micro_batch_rows(step, 16);
    ASSERT_EQ(rows.size(), 5u);  // 16 / 3, remainder dropped
    for (int64_t r : rows) {
      EXPECT_GE(r, 0);
      EXPECT_LT(r, 16);
      EXPECT_TRUE(seen.insert(r).second) << "row " << r << " used twice";
    }
    EXPECT_EQ(sampler.micro_batch_rows(step + 3, 16), rows) << "second iteration of step " << step;
  }
  EXPECT_NE(sampler.micro_batch_rows(6, 16), sampler.micro_batch_rows(0, 16));  // the next generation reshuffles
  EXPECT_EQ(sampler.micro_batch_rows(0, 16), RepeatSampler(40, 4, 16, 3, 2, true, 7).micro_batch_rows(0, 16));
}

// GFPO: after filtering, the buffer holds fewer rows; the parts shrink with it.
TEST(GrpoSampler, MicroBatchesOfAFilteredBuffer) {
  const RepeatSampler sampler(8, 4, 16, 2, 1, false, 0);
  EXPECT_EQ(sampler.micro_batch_rows(0, 8).size(), 4u);  // 16 rows kept 2 of 4 -> 8 rows, 4 per micro-step
  EXPECT_EQ(sampler.micro_batch_rows(1, 7).size(), 3u);
}

// spec §5 item 20: G = 6 with per_device_bs = 3 and GA = 2: one generation batch of one prompt spans two
// micro-steps.
TEST(GrpoSampler, GroupSpanningTwoMicroSteps) {
  const RepeatSampler sampler(5, 6, 6, /*steps_per_generation=*/2, 1, false, 0);
  EXPECT_EQ(sampler.prompts_per_generation(), 1);
  EXPECT_EQ(sampler.micro_steps_per_epoch(), 10);
  EXPECT_EQ(sampler.generation_rows(sampler.generation_index(3)), std::vector<int64_t>(6, 1));
  EXPECT_EQ(sampler.micro_batch_rows(2, 6).size(), 3u);
}

TEST(GrpoSampler, ProcessesSplitTheGenerationBatch) {
  const RepeatSampler sampler(10, 2, 8, 1, 1, false, 0);
  EXPECT_EQ(sampler.local_generation_rows(0, 0, 2), (std::vector<int64_t>{0, 0, 1, 1}));
  EXPECT_EQ(sampler.local_generation_rows(0, 1, 2), (std::vector<int64_t>{2, 2, 3, 3}));
  EXPECT_EQ(sampler.generation_prompts(1), (std::vector<int64_t>{4, 5, 6, 7}));
}

TEST(GrpoSampler, DatasetSmallerThanOneGenerationBatch) {
  const RepeatSampler sampler(3, 2, 8, 1, 1, true, 0);
  EXPECT_EQ(sampler.generations_per_epoch(), 0);
  EXPECT_EQ(sampler.micro_steps_per_epoch(), 0);
  EXPECT_TRUE(sampler.generation_prompts(0).empty());
}

}  // namespace
