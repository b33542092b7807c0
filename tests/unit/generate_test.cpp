// generate(): the KV-cache path gives exactly the tokens of recomputing the whole sequence each step
// (greedy and seeded sampling, ragged prompts, rows finishing early), seeds reproduce, EOS stops a row,
// bad parameters are refused; and each logits processor on inputs whose answer is worked out by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include "model_test_support.h"
#include "trl/sdk/error.h"
#include "trl/sdk/generate/generator.h"
#include "trl/sdk/generate/logits_processors.h"
#include "trl/sdk/model/causal_lm.h"

namespace {

using trl::CausalLM;
using trl::SamplingParams;
using trl::testing_support::float_matrix;
using trl::testing_support::bool_matrix;
using trl::testing_support::tiny_model_config;

const std::vector<std::vector<int64_t>> kPrompts = {{5, 9, 14}, {33}, {7, 7, 8, 60, 2, 11}, {40, 41}};

class Generate : public ::testing::Test {
 protected:
  void SetUp() override {
    at::set_num_threads(1);
    model_ = CausalLM::from_config(tiny_model_config("qwen2", {{"initializer_range", 0.5}}), 21);
  }
  trl::GenerationResult run(SamplingParams params, bool use_cache) const {
    params.use_cache = use_cache;
    return trl::generate(*model_, kPrompts, params);
  }
  std::unique_ptr<CausalLM> model_;
};

TEST_F(Generate, GreedyCacheEqualsFullRecompute) {
  SamplingParams params;
  params.temperature = 0;
  params.max_new_tokens = 12;
  const auto cached = run(params, true), full = run(params, false);
  EXPECT_EQ(cached.completion_ids, full.completion_ids);
  for (const auto& ids : cached.completion_ids) EXPECT_EQ(ids.size(), 12u);
}

TEST_F(Generate, SampledCacheEqualsFullRecomputeWithRowsFinishing) {
  SamplingParams params;
  params.temperature = 0.9;
  params.top_k = 30;
  params.top_p = 0.95;
  params.min_p = 0.02;
  params.repetition_penalty = 1.2;
  params.max_new_tokens = 16;
  params.seed = 99;
  // Frequent stop tokens, so rows end at different steps and are dropped from the batch and the cache.
  params.eos_token_ids = {3, 10, 20, 30};
  const auto cached = run(params, true), full = run(params, false);
  EXPECT_EQ(cached.completion_ids, full.completion_ids);
  EXPECT_EQ(cached.finished, full.finished);
  size_t finished = 0, lengths_differ = 0;
  for (size_t i = 0; i < kPrompts.size(); ++i) {
    finished += cached.finished[i];
    lengths_differ += cached.completion_ids[i].size() != cached.completion_ids[0].size();
  }
  EXPECT_GT(finished, 0u) << "this seed must stop some rows early, or the test proves nothing about row dropping";
  EXPECT_GT(lengths_differ, 0u);
}

TEST_F(Generate, SameSeedSameTokensOtherSeedOtherTokens) {
  SamplingParams params;
  params.max_new_tokens = 10;
  params.seed = 5;
  const auto a = run(params, true), b = run(params, true);
  params.seed = 6;
  const auto c = run(params, true);
  EXPECT_EQ(a.completion_ids, b.completion_ids);
  EXPECT_NE(a.completion_ids, c.completion_ids);
}

TEST_F(Generate, StopsAtEosAndKeepsIt) {
  SamplingParams params;
  params.temperature = 0;
  params.max_new_tokens = 6;
  const auto greedy = run(params, true);
  const int64_t stop = greedy.completion_ids[0][2];  // make row 0's third token an EOS
  params.eos_token_ids = {stop};
  const auto stopped = run(params, true);
  const auto& row = stopped.completion_ids[0];
  ASSERT_FALSE(row.empty());
  EXPECT_EQ(row.back(), stop);
  EXPECT_TRUE(stopped.finished[0]);
  EXPECT_LE(row.size(), 3u);
  EXPECT_EQ(std::vector<int64_t>(greedy.completion_ids[0].begin(), greedy.completion_ids[0].begin() + row.size()), row);
}

TEST_F(Generate, PromptOrderDoesNotMatterForGreedy) {
  SamplingParams params;
  params.temperature = 0;
  params.max_new_tokens = 5;
  const auto batch = trl::generate(*model_, kPrompts, params);
  for (size_t i = 0; i < kPrompts.size(); ++i)
    EXPECT_EQ(trl::generate(*model_, {kPrompts[i]}, params).completion_ids[0], batch.completion_ids[i]) << i;
}

TEST_F(Generate, RefusesBadParametersNamingThem) {
  auto message = [&](SamplingParams p) -> std::string {
    try {
      trl::generate(*model_, kPrompts, p);
    } catch (const trl::ConfigError& e) {
      return e.what();
    }
    return "";
  };
  SamplingParams p;
  p.top_p = 0;
  EXPECT_NE(message(p).find("top_p: expected a number in (0, 1], got 0"), std::string::npos);
  p = {};
  p.temperature = -1;
  EXPECT_NE(message(p).find("temperature"), std::string::npos);
  p = {};
  p.repetition_penalty = 0;
  EXPECT_NE(message(p).find("repetition_penalty"), std::string::npos);
  p = {};
  p.min_p = 1.5;
  EXPECT_NE(message(p).find("min_p"), std::string::npos);
  p = {};
  p.pad_token_id = 64;
  EXPECT_NE(message(p).find("pad_token_id"), std::string::npos);
  EXPECT_THROW(trl::generate(*model_, {{1, 2}, {}}, SamplingParams{}), trl::ConfigError);
}

TEST_F(Generate, ZeroNewTokensGivesEmptyCompletions) {
  SamplingParams params;
  params.max_new_tokens = 0;
  const auto result = run(params, true);
  ASSERT_EQ(result.completion_ids.size(), kPrompts.size());
  for (const auto& ids : result.completion_ids) EXPECT_TRUE(ids.empty());
}

// --- logits processors: expected values worked out by hand from transformers' definitions -------------------

constexpr float kInf = std::numeric_limits<float>::infinity();

TEST(LogitsProcessors, RepetitionPenaltyDividesPositiveAndMultipliesNegative) {
  const at::Tensor scores = float_matrix({{2.0f, -2.0f, 1.0f, 0.0f}});
  const at::Tensor seen = bool_matrix({{true, true, false, true}});
  const at::Tensor out = trl::apply_repetition_penalty(scores, seen, 2.0);
  EXPECT_TRUE(at::equal(out, float_matrix({{1.0f, -4.0f, 1.0f, 0.0f}}))) << out;
}

TEST(LogitsProcessors, TopKKeepsTiesAtTheKthScore) {
  const at::Tensor out = trl::apply_top_k(float_matrix({{1.0f, 3.0f, 2.0f, 2.0f, 0.5f}}), 2);
  EXPECT_TRUE(at::equal(out, float_matrix({{-kInf, 3.0f, 2.0f, 2.0f, -kInf}}))) << out;
}

TEST(LogitsProcessors, TopPKeepsTheSmallestNucleus) {
  // p = (0.5, 0.3, 0.15, 0.05): with top_p 0.8, cumulative from the bottom 0.05, 0.2 <= 0.2 are removed.
  const at::Tensor logits = float_matrix({{0.5f, 0.3f, 0.15f, 0.05f}}).log();
  const at::Tensor out = trl::apply_top_p(logits, 0.8);
  EXPECT_TRUE(std::isfinite(out[0][0].item<float>()) && std::isfinite(out[0][1].item<float>()));
  EXPECT_EQ(out[0][2].item<float>(), -kInf);
  EXPECT_EQ(out[0][3].item<float>(), -kInf);
  // A tiny top_p still keeps the most likely token.
  const at::Tensor only_top = trl::apply_top_p(logits, 1e-6);
  EXPECT_EQ(at::isfinite(only_top).sum().item<int64_t>(), 1);
  EXPECT_TRUE(std::isfinite(only_top[0][0].item<float>()));
}

TEST(LogitsProcessors, MinPScalesWithTheTopProbability) {
  // p = (0.6, 0.25, 0.1, 0.05), min_p 0.2: threshold 0.12, so 0.1 and 0.05 go.
  const at::Tensor logits = float_matrix({{0.6f, 0.25f, 0.1f, 0.05f}}).log();
  const at::Tensor out = trl::apply_min_p(logits, 0.2);
  EXPECT_EQ(at::isfinite(out).sum().item<int64_t>(), 2);
  EXPECT_EQ(out[0][2].item<float>(), -kInf);
}

TEST(LogitsProcessors, GreedyAppliesOnlyTheRepetitionPenalty) {
  SamplingParams params;
  params.temperature = 0;
  params.top_k = 1;
  params.repetition_penalty = 4.0;
  const at::Tensor scores = float_matrix({{2.0f, 1.0f, 0.9f}});
  const at::Tensor seen = bool_matrix({{true, false, false}});
  const at::Tensor out = trl::process_logits(scores, seen, params);
  EXPECT_TRUE(at::equal(out, float_matrix({{0.5f, 1.0f, 0.9f}}))) << out;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(0);
  EXPECT_EQ(trl::sample_next_tokens(out, params, gen).item<int64_t>(), 1);
}

TEST(LogitsProcessors, TemperatureComesBeforeMinP) {
  // z = (0, -1). Temperature 1: p = (0.731, 0.269), threshold 0.5 · 0.731 = 0.366 removes the second token.
  // Temperature 4 first: p = (0.562, 0.438), threshold 0.281 keeps it.
  SamplingParams params;
  params.min_p = 0.5;
  const at::Tensor scores = float_matrix({{0.0f, -1.0f}});
  EXPECT_EQ(at::isfinite(trl::process_logits(scores, {}, params)).sum().item<int64_t>(), 1);
  params.temperature = 4.0;
  EXPECT_EQ(at::isfinite(trl::process_logits(scores, {}, params)).sum().item<int64_t>(), 2);
}

TEST(LogitsProcessors, SamplingFollowsTheDistribution) {
  SamplingParams params;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(1);
  const at::Tensor scores = at::tensor({0.7f, 0.2f, 0.1f}).log().unsqueeze(0).expand({4000, 3}).contiguous();
  const at::Tensor draws = trl::sample_next_tokens(scores, params, gen);
  const at::Tensor freq = at::bincount(draws, {}, 3).to(at::kFloat) / 4000;
  EXPECT_TRUE(at::allclose(freq, at::tensor({0.7f, 0.2f, 0.1f}), 0, 0.03)) << freq;
}

}  // namespace
