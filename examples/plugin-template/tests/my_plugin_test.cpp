// Unit tests of the template's components, linked against my_plugin_core (no .so loaded): the reward's
// scores and its parameter checks, and the callback's CSV rows.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <trl/sdk/error.h>

#include "csv_log_callback.h"
#include "keyword_reward.h"

namespace {

// The args a run config would give, validated as the host validates them.
trl::Args reward_args(const nlohmann::json& config) {
  return my_plugin::keyword_reward_params().validate(config, "test: reward_funcs[0].args");
}

trl::RewardInput input_of(std::vector<std::string> completions, std::vector<nlohmann::json> columns = {}) {
  trl::RewardInput in;
  in.prompts.assign(completions.size(), "prompt");
  in.completion_ids.assign(completions.size(), {});
  if (columns.empty()) columns.assign(completions.size(), nlohmann::json::object());
  in.columns = std::move(columns);
  in.completions = std::move(completions);
  return in;
}

TEST(KeywordReward, ScoresTheFractionOfKeywordsFound) {
  my_plugin::KeywordReward reward(reward_args({{"keywords", {"red", "Blue", "green"}}}));
  const auto scores = reward.score(input_of({"RED and blue", "nothing", "green red blue"}));
  ASSERT_EQ(scores.size(), 3u);
  EXPECT_DOUBLE_EQ(*scores[0], 2.0 / 3.0);  // case-insensitive by default
  EXPECT_DOUBLE_EQ(*scores[1], 0.0);
  EXPECT_DOUBLE_EQ(*scores[2], 1.0);
}

TEST(KeywordReward, AnyAllAndWholeWordModes) {
  my_plugin::KeywordReward any(reward_args({{"keywords", {"cat", "dog"}}, {"mode", "any"}}));
  my_plugin::KeywordReward all(reward_args({{"keywords", {"cat", "dog"}}, {"mode", "all"}}));
  my_plugin::KeywordReward word(reward_args({{"keywords", "cat"}, {"whole_word", true}}));
  const trl::RewardInput in = input_of({"a cat", "a cat and a dog", "concatenate"});
  EXPECT_EQ(any.score(in)[0].value(), 1.0);
  EXPECT_EQ(all.score(in)[0].value(), 0.0);
  EXPECT_EQ(all.score(in)[1].value(), 1.0);
  EXPECT_EQ(word.score(in)[0].value(), 1.0);
  EXPECT_EQ(word.score(in)[2].value(), 0.0) << "'cat' inside 'concatenate' is not a whole word";
  EXPECT_EQ(any.score(in)[2].value(), 1.0) << "without whole_word it is";
}

TEST(KeywordReward, KeywordsFromAColumnAndNoneWithoutIt) {
  my_plugin::KeywordReward reward(reward_args({{"column", "must_say"}}));
  const auto scores = reward.score(input_of({"hello world", "hello", "anything"},
                                            {{{"must_say", {"hello", "world"}}},
                                             {{"must_say", "hello"}},
                                             {{"other", 1}}}));
  EXPECT_DOUBLE_EQ(*scores[0], 1.0);
  EXPECT_DOUBLE_EQ(*scores[1], 1.0);
  EXPECT_FALSE(scores[2].has_value()) << "a row without the column is None, as in TRL";
}

TEST(KeywordReward, BadColumnValueIsADataErrorNamingTheColumn) {
  my_plugin::KeywordReward reward(reward_args({{"column", "must_say"}}));
  try {
    reward.score(input_of({"x"}, {{{"must_say", 3}}}));
    FAIL() << "expected a DataError";
  } catch (const trl::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("must_say"), std::string::npos) << e.what();
  }
}

TEST(KeywordReward, RefusesArgsThatNameNoKeywords) {
  EXPECT_THROW(my_plugin::KeywordReward(reward_args(nlohmann::json::object())), trl::ConfigError);
  EXPECT_THROW(my_plugin::KeywordReward(reward_args({{"keywords", {"a"}}, {"column", "c"}})), trl::ConfigError);
  EXPECT_THROW(reward_args({{"mode", "most"}}), trl::ConfigError) << "mode is one of fraction, any, all";
}

TEST(CsvLog, RowHoldsStepEpochAndChosenMetricsAsJsonWritesThem) {
  const std::vector<std::string> metrics = {"loss", "rewards/accuracies", "eval_loss"};
  EXPECT_EQ(my_plugin::csv_header(metrics), "step,epoch,loss,rewards/accuracies,eval_loss");
  const nlohmann::json logs = {{"step", 2}, {"epoch", 0.5}, {"loss", 0.6931471805599453}, {"rewards/accuracies", 1}};
  EXPECT_EQ(my_plugin::csv_row(logs, metrics), "2,0.5,0.6931471805599453,1,");
  EXPECT_EQ(my_plugin::csv_row({{"step", 3}, {"train_runtime", 1.0}}, metrics), "") << "no chosen metric: no row";
}

TEST(CsvLog, QuotesFieldsThatNeedIt) {
  EXPECT_EQ(my_plugin::csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(my_plugin::csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(my_plugin::csv_field("plain"), "plain");
}

}  // namespace
