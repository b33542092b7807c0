// GFPO group filtering inside the gfpo trainer (spec §4.1-§4.4): the true groups reach the filter, only the
// kept rows train (checked against an independent computation of the gradient), N counts only kept tokens,
// evaluation is never filtered, and the configuration rules name their keys.
#include <algorithm>
#include <numeric>

#include <ATen/core/grad_mode.h>

#include "gfpo_trainer_test_support.h"
#include "trl/sdk/model/causal_lm.h"

namespace {

using gfpo_test::FilterLog;
using gfpo_test::FunctionReward;
using gfpo_test::Harness;
using gfpo_test::RecordingFilter;
using gfpo_test::RewardLog;

struct Recorders {
  std::shared_ptr<RewardLog> rewards = std::make_shared<RewardLog>();
  std::shared_ptr<FilterLog> filter = std::make_shared<FilterLog>();
};

// id_sum reward and a first-id filter ("pick"), both recording.
Recorders install(Harness& h) {
  Recorders r;
  auto rewards = r.rewards;
  auto filter = r.filter;
  h.provider.rewards["id_sum"] = [rewards] {
    return std::make_unique<FunctionReward>(gfpo_test::id_sum_reward, rewards);
  };
  h.provider.filters["pick"] = [filter] {
    return std::make_unique<RecordingFilter>(gfpo_test::first_id_scores, filter);
  };
  return r;
}

// The kept rows as the spec defines them (top-R scores per group, ties to the lower index), computed here
// without the trainer: global row indices, group by group.
std::vector<int64_t> expected_kept(const std::vector<std::vector<double>>& scores, int64_t R, int64_t G) {
  std::vector<int64_t> kept;
  for (size_t k = 0; k < scores.size(); ++k) {
    std::vector<int64_t> order(static_cast<size_t>(G));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return scores[k][a] > scores[k][b]; });
    for (int64_t j = 0; j < R; ++j) kept.push_back(static_cast<int64_t>(k) * G + order[static_cast<size_t>(j)]);
  }
  return kept;
}

TEST(GfpoTrainerFilter, FilterReceivesTheTrueGroups) {
  // 3 prompts x G 4 per generation: group k must be rows [4k, 4k+4) (TRL passes the window at row k).
  Harness h({{"per_device_train_batch_size", 12}, {"num_remains_in_group", 2}}, /*prompts=*/3, {"id_sum"},
            {{"name", "pick"}});
  Recorders rec = install(h);
  h.prepare();
  trl::Metrics metrics;
  h.loss_at(0, metrics);
  ASSERT_EQ(rec.rewards->calls.size(), 1u);
  const trl::RewardInput& input = rec.rewards->calls[0];
  ASSERT_EQ(rec.filter->groups.size(), 3u);
  for (size_t k = 0; k < 3; ++k) {
    const trl::CompletionGroup& group = rec.filter->groups[k];
    ASSERT_EQ(group.completions.size(), 4u);
    EXPECT_EQ(group.prompt, input.prompts[4 * k]);
    EXPECT_EQ(group.columns, input.columns[4 * k]);
    for (size_t j = 0; j < 4; ++j) {
      EXPECT_EQ(input.prompts[4 * k + j], group.prompt) << "every row of a group answers its prompt";
      EXPECT_EQ(group.completions[j], input.completions[4 * k + j]);
      EXPECT_EQ(group.completion_ids[j], input.completion_ids[4 * k + j]);
      EXPECT_EQ(group.lengths[j], static_cast<int64_t>(input.completion_ids[4 * k + j].size()));
      EXPECT_DOUBLE_EQ(group.rewards[j], *gfpo_test::id_sum_reward(input, 4 * k + j));
    }
  }
}

TEST(GfpoTrainerFilter, DiscardedCompletionsContributeNothingToTheGradient) {
  // One micro-batch per generation (steps_per_generation 1), dapo, beta 0: the trainer's gradient must equal
  // -sum_i A_i sum_t grad log p_it / N over the kept rows only, with A from the kept rows' own mean and std,
  // computed here with a full log-softmax (no token_stats, no grpo_loss).
  const int64_t G = 4, R = 2;
  at::set_num_threads(1);
  Harness h({{"per_device_train_batch_size", 8}, {"steps_per_generation", 1}, {"num_remains_in_group", R},
             {"max_completion_length", 5}},
            /*prompts=*/2, {"id_sum"}, {{"name", "pick"}});
  Recorders rec = install(h);
  h.prepare();
  trl::Metrics metrics;
  h.loss_at(0, metrics).backward();
  const std::vector<at::Tensor> trainer_grads = gfpo_test::gradients(*h.model);
  gfpo_test::zero_gradients(*h.model);

  const trl::RewardInput& input = rec.rewards->calls.at(0);
  std::vector<std::vector<double>> scores;
  for (const auto& g : rec.filter->groups) scores.push_back(gfpo_test::first_id_scores(g));
  const std::vector<int64_t> kept = expected_kept(scores, R, G);
  ASSERT_EQ(kept.size(), 4u);

  // Advantages of the kept rows: per kept group, (r - mean) / (unbiased std + 1e-4) (spec §4.4).
  std::vector<double> advantage(kept.size());
  for (size_t k = 0; k < kept.size(); k += R) {
    const double a = *gfpo_test::id_sum_reward(input, kept[k]), b = *gfpo_test::id_sum_reward(input, kept[k + 1]);
    const double mean = (a + b) / 2, std = std::sqrt(((a - mean) * (a - mean) + (b - mean) * (b - mean)) / (R - 1));
    advantage[k] = (a - mean) / (std + 1e-4);
    advantage[k + 1] = (b - mean) / (std + 1e-4);
  }
  double total_tokens = 0;
  for (int64_t r : kept) total_tokens += static_cast<double>(input.completion_ids[r].size());
  EXPECT_DOUBLE_EQ(h.trainer->buffer().num_items_in_batch, total_tokens);

  // Row by row, unpadded: prompt + completion, full log-softmax at the positions predicting the completion.
  at::Tensor objective = at::zeros({});
  for (size_t k = 0; k < kept.size(); ++k) {
    const size_t row = static_cast<size_t>(kept[k]);
    std::vector<int64_t> ids = h.tokenizer->encode(input.prompts[row], true);
    const int64_t P = static_cast<int64_t>(ids.size());
    const std::vector<int64_t>& completion = input.completion_ids[row];
    ids.insert(ids.end(), completion.begin(), completion.end());
    const at::Tensor x = at::tensor(ids, at::kLong).unsqueeze(0);                       // (1, P + C)
    const at::Tensor logits = h.model->logits(h.model->hidden_states(x));               // (1, P + C, V)
    const at::Tensor logp = logits.log_softmax(-1).squeeze(0).narrow(0, P - 1, static_cast<int64_t>(completion.size()))
                                .gather(1, at::tensor(completion, at::kLong).unsqueeze(1));  // (C, 1)
    objective = objective + advantage[k] * logp.sum();
  }
  (-objective / total_tokens).backward();
  const std::vector<at::Tensor> expected = gfpo_test::gradients(*h.model);

  double norm = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_TRUE(at::allclose(trainer_grads[i], expected[i], /*rtol=*/1e-4, /*atol=*/1e-6))
        << "parameter " << h.model->named_parameters()[i].first << ": max diff "
        << (trainer_grads[i] - expected[i]).abs().max().item<double>();
    norm += expected[i].pow(2).sum().item<double>();
  }
  EXPECT_GT(norm, 0.0) << "the check is vacuous if the kept rows' advantages are all 0";
}

TEST(GfpoTrainerFilter, BufferHoldsExactlyTheKeptRows) {
  const int64_t G = 4, R = 3;
  Harness h({{"per_device_train_batch_size", 6}, {"steps_per_generation", 2}, {"num_remains_in_group", R},
             {"max_completion_length", 8}},
            /*prompts=*/4, {"id_sum"}, {{"name", "pick"}});
  Recorders rec = install(h);
  h.prepare();
  trl::Metrics metrics;
  h.loss_at(0, metrics);
  const trl::RewardInput& input = rec.rewards->calls.at(0);
  std::vector<std::vector<double>> scores;
  for (const auto& g : rec.filter->groups) scores.push_back(gfpo_test::first_id_scores(g));
  std::multiset<std::vector<int64_t>> want;
  for (int64_t r : expected_kept(scores, R, G)) want.insert(input.completion_ids[static_cast<size_t>(r)]);

  // 3 prompts x R 3 = 9 kept rows over 2 micro-batches: 4 each, one dropped (TRL's split, spec §4.4).
  std::multiset<std::vector<int64_t>> got;
  for (const auto& chunk : h.trainer->buffer().chunks) {
    ASSERT_EQ(chunk.rows(), 4);
    for (int64_t b = 0; b < chunk.rows(); ++b) {
      const int64_t n = chunk.completion_mask[b].sum().item<int64_t>();
      const at::Tensor ids = chunk.completion_ids[b].narrow(0, 0, n).contiguous();
      got.insert(std::vector<int64_t>(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + n));
    }
  }
  EXPECT_EQ(got.size(), 8u);
  for (const auto& row : got) EXPECT_TRUE(want.count(row)) << "a row the filter dropped reached the loss";
  // The scoring metrics describe the kept rows: frac_reward_zero_std etc. exist, reward is their mean.
  const nlohmann::json logged = metrics.means();
  double kept_mean = 0;
  for (int64_t r : expected_kept(scores, R, G)) kept_mean += *gfpo_test::id_sum_reward(input, static_cast<size_t>(r));
  EXPECT_NEAR(logged.at("reward").get<double>(), kept_mean / 9.0, 1e-12);
  EXPECT_TRUE(logged.contains("frac_reward_zero_std"));
}

TEST(GfpoTrainerFilter, EvaluationIsNeverFiltered) {
  Harness h({{"per_device_eval_batch_size", 8}, {"num_remains_in_group", 2}}, /*prompts=*/4, {"id_sum"},
            {{"name", "pick"}});
  h.with_eval(3);
  Recorders rec = install(h);
  h.prepare();
  ASSERT_TRUE(h.trainer->has_eval_data());
  trl::Metrics metrics;
  {
    const at::NoGradGuard no_grad;
    h.trainer->evaluate(*h.ctx, metrics);
  }
  EXPECT_TRUE(rec.filter->groups.empty()) << "the filter ran during evaluation";
  // 3 prompts x G 4 = 12 rows in batches of 8: one full batch and one of a single group.
  ASSERT_EQ(rec.rewards->calls.size(), 2u);
  EXPECT_EQ(rec.rewards->calls[0].completions.size(), 8u);
  EXPECT_EQ(rec.rewards->calls[1].completions.size(), 4u);
  const nlohmann::json logged = metrics.means();
  // Every row counts: the reward metric is the mean over all 4 completions of each group (per batch).
  std::vector<double> batch_means;
  for (const auto& input : rec.rewards->calls) {
    double sum = 0;
    for (size_t i = 0; i < input.completions.size(); ++i) sum += *gfpo_test::id_sum_reward(input, i);
    batch_means.push_back(sum / static_cast<double>(input.completions.size()));
  }
  EXPECT_NEAR(logged.at("reward").get<double>(), (batch_means[0] + batch_means[1]) / 2, 1e-12);
  EXPECT_TRUE(logged.contains("loss"));
  EXPECT_TRUE(logged.contains("completions/mean_length"));
}

TEST(GfpoTrainerFilter, FilterWithoutRemainsWarnsAndTrainsUnfiltered) {
  Harness h({}, /*prompts=*/4, {"id_sum"}, {{"name", "pick"}});
  Recorders rec = install(h);
  testing::internal::CaptureStderr();
  h.prepare();
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("group filtering is disabled"), std::string::npos) << err;
  EXPECT_FALSE(h.trainer->filtering());
  trl::Metrics metrics;
  h.loss_at(0, metrics);
  EXPECT_TRUE(rec.filter->groups.empty());
  EXPECT_EQ(h.trainer->buffer().chunks.at(0).rows(), 4);
}

TEST(GfpoTrainerFilter, RemainsWithoutFilterIsAConfigError) {
  Harness h({{"num_remains_in_group", 2}});
  const std::string message = gfpo_test::config_error_of([&] { h.prepare(); });
  EXPECT_NE(message.find("group_filter"), std::string::npos) << message;
  EXPECT_NE(message.find("num_remains_in_group"), std::string::npos) << message;
}

TEST(GfpoTrainerFilter, RemainsMustBeLessThanNumGenerations) {
  Harness h({{"num_remains_in_group", 4}}, 4, {"id_sum"}, {{"name", "pick"}});
  install(h);
  const std::string message = gfpo_test::config_error_of([&] { h.prepare(); });
  EXPECT_NE(message.find("num_remains_in_group"), std::string::npos) << message;
  EXPECT_NE(message.find("less than num_generations"), std::string::npos) << message;
}

TEST(GfpoTrainerFilter, RemainsOfOneIsRefusedByItsRange) {
  const trl::ParamTable table =
      trl::host::merge_trainer_params(trl::training_arguments_params(), trl::gfpo::gfpo_trainer_params());
  const std::string message =
      gfpo_test::config_error_of(
      [&] { table.validate({{"output_dir", "out"}, {"num_remains_in_group", 1}}, "run.json: args"); });
  EXPECT_NE(message.find("num_remains_in_group"), std::string::npos) << message;
  EXPECT_NE(message.find(">= 2"), std::string::npos) << message;
}

TEST(GfpoTrainerFilter, MissingRewardFunctionsIsAConfigError) {
  Harness h({}, 4, nlohmann::json::array());
  const std::string message = gfpo_test::config_error_of([&] { h.prepare(); });
  EXPECT_NE(message.find("reward_funcs"), std::string::npos) << message;
}

TEST(GfpoTrainerFilter, RewardWeightsMustMatchTheRewardFunctions) {
  Harness h({{"reward_weights", {1.0, 2.0}}});
  const std::string message = gfpo_test::config_error_of([&] { h.prepare(); });
  EXPECT_NE(message.find("reward_weights"), std::string::npos) << message;
  EXPECT_NE(message.find("one weight per reward function (1), got 2"), std::string::npos) << message;
}

}  // namespace
