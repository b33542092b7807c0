// Data-parallel configuration and sharding: the torchrun environment variables (dist_env.h) and the
// sharded EpochSampler (2 ranks x b rows = the rows of 1 rank x 2b, accelerate's even_batches padding).
#include <map>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "trl/sdk/data/sampler.h"
#include "trl/sdk/dist/dist_env.h"
#include "trl/sdk/error.h"

namespace {

using trl::dist::DistEnv;
using Vars = std::map<std::string, std::string>;

std::optional<DistEnv> parse(const Vars& vars) {
  return trl::dist::parse_dist_env([&](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

// The message of the ConfigError parse(vars) throws ("" if none).
std::string config_error(const Vars& vars) {
  try {
    parse(vars);
  } catch (const trl::ConfigError& e) {
    return e.what();
  }
  return "";
}

const Vars kJob{{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", "29500"}};

TEST(DistEnv, NoVariablesMeansASingleProcess) { EXPECT_FALSE(parse({}).has_value()); }

TEST(DistEnv, ReadsTorchrunVariables) {
  Vars vars = kJob;
  vars["LOCAL_RANK"] = "0";
  vars["TRL_DIST_TIMEOUT"] = "2.5";
  const std::optional<DistEnv> env = parse(vars);
  ASSERT_TRUE(env.has_value());
  EXPECT_EQ(env->rank, 1);
  EXPECT_EQ(env->world_size, 2);
  EXPECT_EQ(env->local_rank, 0);
  EXPECT_EQ(env->master_addr, "127.0.0.1");
  EXPECT_EQ(env->master_port, 29500);
  EXPECT_EQ(env->timeout.count(), 2500);
}

TEST(DistEnv, LocalRankDefaultsToRankAndTimeoutTo60Seconds) {
  const std::optional<DistEnv> env = parse(kJob);
  ASSERT_TRUE(env.has_value());
  EXPECT_EQ(env->local_rank, 1);
  EXPECT_EQ(env->timeout.count(), 60000);
}

TEST(DistEnv, MissingVariableIsNamed) {
  for (const char* name : {"RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"}) {
    Vars vars = kJob;
    vars.erase(name);
    const std::string message = config_error(vars);
    EXPECT_NE(message.find(std::string("environment: ") + name + ": expected"), std::string::npos) << message;
    EXPECT_NE(message.find("unset"), std::string::npos) << message;
  }
}

TEST(DistEnv, MalformedValuesAreNamedWithWhatWasFound) {
  const std::vector<std::pair<std::string, std::string>> bad{
      {"RANK", "2"}, {"RANK", "-1"}, {"RANK", "one"}, {"WORLD_SIZE", "0"}, {"MASTER_PORT", "70000"},
      {"MASTER_PORT", "80x"}, {"LOCAL_RANK", "5"}, {"TRL_DIST_TIMEOUT", "0"}, {"TRL_DIST_TIMEOUT", "soon"}};
  for (const auto& [name, value] : bad) {
    Vars vars = kJob;
    vars[name] = value;
    const std::string message = config_error(vars);
    EXPECT_NE(message.find("environment: " + name + ": expected"), std::string::npos) << name << "=" << value;
    EXPECT_NE(message.find("\"" + value + "\""), std::string::npos) << message;
  }
}

// The union of W shards of batch b, per step, is the batch of 1 process with W x b, in the same order.
TEST(EpochSamplerShard, RanksSplitTheGlobalBatchOfOneProcess) {
  const trl::EpochSampler single(40, 8, /*seed=*/3);
  const trl::EpochSampler base(40, 4, /*seed=*/3);
  const trl::EpochSampler rank0 = base.sharded(0, 2), rank1 = base.sharded(1, 2);
  EXPECT_EQ(rank0.batches_per_epoch(), single.batches_per_epoch());
  for (int64_t k = 0; k < 3 * single.batches_per_epoch(); ++k) {  // three epochs, new orders
    std::vector<int64_t> both = rank0.batch(k);
    const std::vector<int64_t> second = rank1.batch(k);
    both.insert(both.end(), second.begin(), second.end());
    EXPECT_EQ(both, single.batch(k)) << "batch " << k;
  }
}

// 10 examples, 2 ranks x 3: the second global batch has 4 real rows; as accelerate's even_batches, the
// last 2 slots are the epoch's first examples, so both ranks get 3 rows and every example is seen.
TEST(EpochSamplerShard, IncompleteLastGlobalBatchWrapsToTheEpochStart) {
  const trl::EpochSampler base(10, 3, /*seed=*/0);
  const trl::EpochSampler rank0 = base.sharded(0, 2), rank1 = base.sharded(1, 2);
  ASSERT_EQ(rank0.batches_per_epoch(), 2);
  const std::vector<int64_t> order = base.epoch_order(0);
  EXPECT_EQ(rank0.batch(1), (std::vector<int64_t>{order[6], order[7], order[8]}));
  EXPECT_EQ(rank1.batch(1), (std::vector<int64_t>{order[9], order[0], order[1]}));
  std::set<int64_t> seen;
  for (int64_t k = 0; k < 2; ++k)
    for (const trl::EpochSampler* s : {&rank0, &rank1})
      for (int64_t i : s->batch(k)) seen.insert(i);
  EXPECT_EQ(seen.size(), 10u);
}

TEST(EpochSamplerShard, DropLastKeepsOnlyCompleteGlobalBatches) {
  const trl::EpochSampler base(10, 3, /*seed=*/0, /*shuffle=*/true, /*drop_last=*/true);
  EXPECT_EQ(base.sharded(1, 2).batches_per_epoch(), 1);
  EXPECT_THROW(trl::EpochSampler(5, 3, 0, true, true).sharded(0, 2), trl::ConfigError);
}

TEST(EpochSamplerShard, RefusesARankOutsideTheWorld) {
  const trl::EpochSampler base(10, 3, /*seed=*/0);
  EXPECT_THROW(base.sharded(2, 2), trl::ConfigError);
  EXPECT_THROW(base.sharded(0, 0), trl::ConfigError);
}

}  // namespace
