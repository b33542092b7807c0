// EpochSampler: Hugging Face Trainer's batch order (golden from tests/golden/make_data_sampler.py, torch 1.13,
// exact), stateless access, coverage, drop_last.
#include <algorithm>
#include <cstdint>
#include <fstream>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "trl/sdk/data/sampler.h"
#include "trl/sdk/error.h"

namespace {

using Ids = std::vector<int64_t>;

nlohmann::json load_golden() {
  std::ifstream in(std::string(TRL_TEST_DATA_DIR) + "/golden/data_sampler.json");
  return nlohmann::json::parse(in);
}

TEST(EpochSampler, MatchesHuggingFaceTrainerOrder) {
  const nlohmann::json golden = load_golden();
  ASSERT_GE(golden["cases"].size(), 5u);
  for (const nlohmann::json& c : golden["cases"]) {
    const trl::EpochSampler sampler(c["n"].get<int64_t>(), c["batch_size"].get<int64_t>(), c["seed"].get<uint64_t>(),
                                    /*shuffle=*/true, c["drop_last"].get<bool>());
    int64_t k = 0;
    for (size_t epoch = 0; epoch < c["epochs"].size(); ++epoch) {
      const nlohmann::json& batches = c["epochs"][epoch];
      ASSERT_EQ(sampler.batches_per_epoch(), static_cast<int64_t>(batches.size())) << c["n"] << " " << c["batch_size"];
      for (const nlohmann::json& expected : batches) {
        EXPECT_EQ(sampler.epoch_of(k), static_cast<int64_t>(epoch));
        EXPECT_EQ(sampler.batch(k), expected.get<Ids>()) << "n=" << c["n"] << " seed=" << c["seed"] << " batch " << k;
        ++k;
      }
    }
  }
}

TEST(EpochSampler, BatchesAreAPureFunctionOfTheIndex) {
  const trl::EpochSampler sampler(50, 4, 7);
  const trl::EpochSampler again(50, 4, 7);
  // Out of order, across epochs, and from a fresh sampler (a resumed run): always the same indices.
  for (int64_t k : {40, 3, 13, 0, 27, 13, 99, 12}) EXPECT_EQ(sampler.batch(k), again.batch(k)) << k;
  const trl::EpochSampler copy = sampler;
  EXPECT_EQ(copy.batch(14), again.batch(14));
}

TEST(EpochSampler, EveryIndexOncePerEpoch) {
  const trl::EpochSampler sampler(23, 5, 1);
  ASSERT_EQ(sampler.batches_per_epoch(), 5);
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    Ids seen;
    for (int64_t b = 0; b < sampler.batches_per_epoch(); ++b) {
      const Ids batch = sampler.batch(epoch * sampler.batches_per_epoch() + b);
      EXPECT_EQ(static_cast<int64_t>(batch.size()), b == 4 ? 3 : 5);
      seen.insert(seen.end(), batch.begin(), batch.end());
    }
    std::sort(seen.begin(), seen.end());
    Ids all(23);
    std::iota(all.begin(), all.end(), 0);
    EXPECT_EQ(seen, all) << "epoch " << epoch;
  }
}

TEST(EpochSampler, DifferentEpochsAndSeedsDiffer) {
  const trl::EpochSampler sampler(100, 10, 42);
  EXPECT_NE(sampler.epoch_order(0), sampler.epoch_order(1));
  EXPECT_NE(sampler.epoch_order(1), sampler.epoch_order(2));
  EXPECT_NE(sampler.epoch_order(0), trl::EpochSampler(100, 10, 43).epoch_order(0));
  Ids identity(100);
  std::iota(identity.begin(), identity.end(), 0);
  EXPECT_NE(sampler.epoch_order(0), identity);
}

TEST(EpochSampler, WithoutShuffleVisitsInOrder) {
  const trl::EpochSampler sampler(7, 3, 42, /*shuffle=*/false);
  EXPECT_EQ(sampler.batch(0), (Ids{0, 1, 2}));
  EXPECT_EQ(sampler.batch(2), (Ids{6}));
  EXPECT_EQ(sampler.batch(3), (Ids{0, 1, 2}));
  EXPECT_EQ(sampler.epoch_of(3), 1);
}

TEST(EpochSampler, DropLastDropsTheShortBatch) {
  const trl::EpochSampler keep(10, 4, 3);
  const trl::EpochSampler drop(10, 4, 3, /*shuffle=*/true, /*drop_last=*/true);
  EXPECT_EQ(keep.batches_per_epoch(), 3);
  EXPECT_EQ(drop.batches_per_epoch(), 2);
  EXPECT_EQ(keep.batch(2).size(), 2u);
  // The kept batches are the same; the next epoch starts right after the dropped one.
  EXPECT_EQ(drop.batch(1), keep.batch(1));
  EXPECT_EQ(drop.epoch_of(2), 1);
  EXPECT_EQ(drop.batch(2), keep.batch(3));
}

TEST(EpochSampler, RefusesImpossibleShapes) {
  EXPECT_THROW(trl::EpochSampler(0, 4, 1), trl::ConfigError);
  EXPECT_THROW(trl::EpochSampler(4, 0, 1), trl::ConfigError);
  try {
    trl::EpochSampler(3, 4, 1, true, true);
    FAIL() << "expected a ConfigError";
  } catch (const trl::ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "sampler: the dataset has 3 examples, fewer than one batch of 4, and dataloader_drop_last would drop "
              "them all");
  }
  EXPECT_THROW(trl::EpochSampler(4, 2, 1).batch(-1), trl::InternalError);
}

TEST(EpochSampler, SafeToShareBetweenThreads) {
  const trl::EpochSampler sampler(1000, 7, 5);
  const trl::EpochSampler reference(1000, 7, 5);
  std::vector<Ids> got(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int64_t k = t; k < 8 * 60; k += 8) got[t] = sampler.batch(k * 3);  // jumps between epochs
    });
  for (std::thread& th : threads) th.join();
  for (int t = 0; t < 8; ++t) EXPECT_EQ(got[t], reference.batch(((8 * 60 - 1 - t) / 8 * 8 + t) * 3)) << t;
}

}  // namespace
