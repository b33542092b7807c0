// The gfpo plugin's built-in rewards on hand-made inputs: accuracy, format, length_penalty, and the
// answer extraction they rely on.
#include <gtest/gtest.h>

#include <functional>

#include "accuracy_reward.h"
#include "answer_extraction.h"
#include "format_reward.h"
#include "length_penalty_reward.h"
#include "trl/sdk/error.h"

namespace {

using trl::gfpo::AccuracyReward;
using trl::gfpo::FormatReward;
using trl::gfpo::LengthPenaltyReward;

trl::RewardInput input_of(const std::vector<std::string>& completions, const std::vector<nlohmann::json>& columns = {}) {
  trl::RewardInput input;
  for (const std::string& c : completions) {
    input.prompts.push_back("Q");
    input.completions.push_back(c);
    input.completion_ids.push_back(std::vector<int64_t>(c.size(), 1));  // one token per byte
  }
  input.columns = columns;
  return input;
}

std::string config_error(const trl::ParamTable& table, const nlohmann::json& config,
                         const std::function<void(const trl::Args&)>& build) {
  try {
    build(table.validate(config, "run.json: rewards[0].args"));
  } catch (const trl::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(AnswerExtraction, LastNumber) {
  using trl::gfpo::extract_last_number;
  EXPECT_EQ(extract_last_number("so 3 + 4 = 7."), "7");
  EXPECT_EQ(extract_last_number("the total is 1,234.50 dollars"), "1,234.50");
  EXPECT_EQ(extract_last_number("it is -12"), "-12");
  EXPECT_EQ(extract_last_number("pages 3-5"), "5");
  EXPECT_EQ(extract_last_number("about .5 of it"), ".5");
  EXPECT_FALSE(extract_last_number("no digits here").has_value());
}

TEST(AnswerExtraction, Boxed) {
  using trl::gfpo::extract_boxed;
  EXPECT_EQ(extract_boxed("first \\boxed{1} then \\boxed{ \\frac{1}{3} }"), "\\frac{1}{3}");
  EXPECT_EQ(extract_boxed("\\boxed{2} and a broken \\boxed{3"), "2");
  EXPECT_FALSE(extract_boxed("no box").has_value());
}

TEST(AnswerExtraction, ParsesNumbers) {
  using trl::gfpo::parse_number;
  EXPECT_EQ(parse_number(" 42 "), 42.0);
  EXPECT_EQ(parse_number("$1,234.5"), 1234.5);
  EXPECT_EQ(parse_number("7."), 7.0);
  EXPECT_EQ(parse_number("3/4"), 0.75);
  EXPECT_EQ(parse_number("-1e-3"), -0.001);
  EXPECT_FALSE(parse_number("12,34").has_value());
  EXPECT_FALSE(parse_number("x").has_value());
  EXPECT_FALSE(parse_number("1/0").has_value());
}

TEST(AnswerExtraction, MatchesNumbersWithToleranceAndTextExactly) {
  using trl::gfpo::answers_match;
  EXPECT_TRUE(answers_match("0.3333333", "1/3", 1e-6, false));
  EXPECT_FALSE(answers_match("0.33", "1/3", 1e-6, false));
  EXPECT_TRUE(answers_match("1,000", "1000", 0.0, false));
  EXPECT_TRUE(answers_match(" Paris ", "Paris", 0.0, false));
  EXPECT_FALSE(answers_match("paris", "Paris", 0.0, false));
  EXPECT_TRUE(answers_match("paris", "Paris", 0.0, true));
}

TEST(AccuracyReward, ScoresLastNumberAgainstTheAnswerColumn) {
  AccuracyReward reward(trl::gfpo::accuracy_reward_params().validate(nlohmann::json::object(), "args"));
  const auto input = input_of({"2 + 2 = 4", "I think 5", "no idea", "4", "4"},
                              {{{"answer", "4"}}, {{"answer", 4}}, {{"answer", 4}}, {{"other", 4}}, {{"answer", nullptr}}});
  const auto scores = reward.score(input);
  ASSERT_EQ(scores.size(), 5u);
  EXPECT_EQ(scores[0], 1.0);
  EXPECT_EQ(scores[1], 0.0);
  EXPECT_EQ(scores[2], 0.0);                // nothing extracted
  EXPECT_FALSE(scores[3].has_value());      // column missing: TRL's None
  EXPECT_FALSE(scores[4].has_value());      // column null
}

TEST(AccuracyReward, BoxedAndReferenceExtraction) {
  AccuracyReward reward(trl::gfpo::accuracy_reward_params().validate(
      {{"extract", "boxed"}, {"column", "solution"}}, "args"));
  const auto scores = reward.score(input_of({"so \\boxed{\\frac{1}{3}}", "\\boxed{0.5}", "0.5"},
                                            {{{"solution", "\\frac{1}{3}"}}, {{"solution", "1/2"}}, {{"solution", "0.5"}}}));
  EXPECT_EQ(scores[0], 1.0);
  EXPECT_EQ(scores[1], 1.0);  // numeric comparison: 0.5 == 1/2
  EXPECT_EQ(scores[2], 0.0);  // no box
  AccuracyReward gsm8k(trl::gfpo::accuracy_reward_params().validate({{"extract_reference", true}}, "args"));
  const auto s = gsm8k.score(input_of({"... so 72", "... so 70"}, {{{"answer", "48 + 24 = 72\n#### 72"}},
                                                                 {{"answer", "48 + 24 = 72\n#### 72"}}}));
  EXPECT_EQ(s[0], 1.0);
  EXPECT_EQ(s[1], 0.0);
}

TEST(AccuracyReward, RegexCapture) {
  AccuracyReward named(trl::gfpo::accuracy_reward_params().validate(
      {{"extract", "regex"}, {"pattern", "Answer:\\s*(?P<answer>\\w+)"}}, "args"));
  const auto scores = named.score(input_of({"Answer: cat. Answer: dog", "Answer: cat"}, {{{"answer", "dog"}}, {{"answer", "dog"}}}));
  EXPECT_EQ(scores[0], 1.0);  // the last match counts
  EXPECT_EQ(scores[1], 0.0);
  AccuracyReward group1(trl::gfpo::accuracy_reward_params().validate(
      {{"extract", "regex"}, {"pattern", "<answer>(.*?)</answer>"}}, "args"));
  EXPECT_EQ(group1.extract("<answer> 12 </answer>"), " 12 ");
  EXPECT_EQ(group1.score(input_of({"<answer> 12 </answer>"}, {{{"answer", 12}}}))[0], 1.0);
}

TEST(AccuracyReward, ConfigErrorsNameTheKey) {
  const auto build = [](const trl::Args& a) { AccuracyReward r(a); };
  EXPECT_EQ(config_error(trl::gfpo::accuracy_reward_params(), {{"extract", "regex"}}, build),
            "run.json: rewards[0].args: pattern: is required when extract is \"regex\"");
  EXPECT_EQ(config_error(trl::gfpo::accuracy_reward_params(), {{"pattern", "(x)"}}, build),
            "run.json: rewards[0].args: pattern: is only used with extract=\"regex\" (extract is \"last_number\")");
  const std::string bad = config_error(trl::gfpo::accuracy_reward_params(), {{"extract", "regex"}, {"pattern", "(a"}}, build);
  EXPECT_EQ(bad.rfind("run.json: rewards[0].args: pattern: invalid regular expression at offset 2: ", 0), 0u) << bad;
}

TEST(FormatReward, DefaultIsTrlThinkFormat) {
  FormatReward reward(trl::gfpo::format_reward_params().validate(nlohmann::json::object(), "args"));
  // TRL's think_format_reward docstring example, plus a nested <think>.
  const auto scores = reward.score(input_of({"<think>\nThis is my reasoning.\n</think>\nThis is my answer.",
                                             "<think>\nThis is my reasoning.\nThis is my answer.",
                                             "<think>a<think>b</think>c", "x<think>a</think>"}));
  EXPECT_EQ(scores, (std::vector<std::optional<double>>{1.0, 0.0, 0.0, 0.0}));
}

TEST(FormatReward, Modes) {
  auto make = [](const std::string& mode) {
    return FormatReward(trl::gfpo::format_reward_params().validate({{"pattern", "[0-9]+"}, {"mode", mode}}, "args"));
  };
  const auto input = input_of({"42", "x42", "42x"});
  EXPECT_EQ(make("search").score(input), (std::vector<std::optional<double>>{1.0, 1.0, 1.0}));
  EXPECT_EQ(make("match").score(input), (std::vector<std::optional<double>>{1.0, 0.0, 1.0}));
  EXPECT_EQ(make("full").score(input), (std::vector<std::optional<double>>{1.0, 0.0, 0.0}));
}

TEST(FormatReward, ToleratesInvalidUtf8) {
  FormatReward reward(trl::gfpo::format_reward_params().validate({{"pattern", "done$"}, {"mode", "search"}}, "args"));
  EXPECT_EQ(reward.score(input_of({std::string("\xe4\xbd") + " done"}))[0], 1.0);
}

TEST(FormatReward, InvalidPatternIsAConfigError) {
  const auto build = [](const trl::Args& a) { FormatReward r(a); };
  const std::string what = config_error(trl::gfpo::format_reward_params(), {{"pattern", "a)"}}, build);
  EXPECT_EQ(what.rfind("run.json: rewards[0].args: pattern: invalid regular expression at offset 1: ", 0), 0u) << what;
}

TEST(LengthPenaltyReward, Linear) {
  LengthPenaltyReward reward(trl::gfpo::length_penalty_reward_params().validate({{"max_length", 10}}, "args"));
  const auto scores = reward.score(input_of({"", "abcde", "abcdefghij", "abcdefghijklmno"}));
  EXPECT_EQ(scores, (std::vector<std::optional<double>>{-0.0, -0.5, -1.0, -1.0}));
}

// TRL's get_soft_overlong_punishment docstring: max 100, cache 20, 90 tokens -> -0.5.
TEST(LengthPenaltyReward, SoftOverlongMatchesTrl) {
  LengthPenaltyReward reward(trl::gfpo::length_penalty_reward_params().validate(
      {{"mode", "soft_overlong"}, {"max_length", 100}, {"soft_punish_cache", 20}}, "args"));
  EXPECT_EQ(reward.penalty(90), -0.5);
  EXPECT_EQ(reward.penalty(80), 0.0);
  EXPECT_EQ(reward.penalty(100), -1.0);
  EXPECT_EQ(reward.penalty(101), -1.0);
  EXPECT_EQ(reward.score(input_of({std::string(90, 'a')}))[0], -0.5);
}

TEST(LengthPenaltyReward, CharactersCountCodePoints) {
  LengthPenaltyReward reward(trl::gfpo::length_penalty_reward_params().validate(
      {{"max_length", 4}, {"unit", "characters"}}, "args"));
  EXPECT_EQ(reward.score(input_of({"\xc3\xa9t\xc3\xa9"}))[0], -0.75);  // "été": 3 characters, 5 bytes
}

TEST(LengthPenaltyReward, CacheMustBeBelowMaxLength) {
  const auto build = [](const trl::Args& a) { LengthPenaltyReward r(a); };
  EXPECT_EQ(config_error(trl::gfpo::length_penalty_reward_params(),
                         {{"mode", "soft_overlong"}, {"max_length", 10}, {"soft_punish_cache", 10}}, build),
            "run.json: rewards[0].args: soft_punish_cache: must be less than max_length (10), got 10");
}

}  // namespace
