// The `python` reward: TRL's calling convention (keyword arguments, conversational completions,
// trainer_state, None), parity with the C++ accuracy reward, and the errors a user meets.
#include <gtest/gtest.h>

#include <cmath>

#include "accuracy_reward.h"
#include "python_test_support.h"
#include "trl/sdk/error.h"

namespace {

using python_test::error_of;
using python_test::PyDir;
using python_test::reward;

trl::RewardInput input_of(const std::vector<std::string>& completions, const std::vector<nlohmann::json>& answers) {
  trl::RewardInput in;
  for (size_t i = 0; i < completions.size(); ++i) {
    in.prompts.push_back("What is 2 plus 3? ");
    in.prompt_values.push_back("What is 2 plus 3? ");
    in.completions.push_back(completions[i]);
    in.completion_ids.push_back({static_cast<int64_t>(i), 7});
    nlohmann::json row = nlohmann::json::object();
    if (!answers[i].is_discarded()) row["answer"] = answers[i];
    in.columns.push_back(row);
  }
  return in;
}

TEST(PythonReward, MatchesCppAccuracyOnTheSameCompletions) {
  // The same completions and references through trl-host's C++ `accuracy` (default arguments) and the
  // examples' Python accuracy_reward: every reward equal, None in the same places.
  const std::vector<std::string> completions = {
      "The answer is 5",     "5.",          "It is 4",           "1,234",        "-3 or maybe 7",    "no number",
      "x = .5",              "3-5",         "total: 1,000.50",   "answer: 12",   "2/4 makes 0.5",    "5",
      "$5",                  "5e0",         "The answer is 6.0", "value 1e-3",   "   "};
  const nlohmann::json discarded = nlohmann::json(nlohmann::json::value_t::discarded);
  const std::vector<nlohmann::json> answers = {
      5,  "5", 4, "1234", 7, 5, 0.5, 5, "1000.5", "12", 0.5, nullptr, "$5", discarded, 6, "0.001", "7"};
  const trl::RewardInput in = input_of(completions, answers);

  const trl::Args accuracy_args = trl::gfpo::accuracy_reward_params().validate(nlohmann::json::object(), "run.json");
  trl::gfpo::AccuracyReward cpp(accuracy_args);
  const std::vector<std::optional<double>> expected = cpp.score(in);
  auto py = reward({{"file", python_test::example("rewards.py")}, {"function", "accuracy_reward"}});
  const std::vector<std::optional<double>> got = py->score(in);

  ASSERT_EQ(got.size(), expected.size());
  int ones = 0, nones = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i], expected[i]) << "completion " << i << ": " << completions[i];
    ones += expected[i] == 1.0;
    nones += !expected[i].has_value();
  }
  EXPECT_GE(ones, 5) << "the case list should exercise matches";
  EXPECT_EQ(nones, 2) << "null and missing references are not applicable";
}

TEST(PythonReward, PassesTrlKeywordArguments) {
  PyDir dir;
  const std::string file = dir.write("check_kwargs.py", R"(
def check(prompts, completions, completion_ids, trainer_state, answer, level, **kwargs):
    assert prompts == ["p0", "p1"], prompts
    assert completions == ["c0", "c1"], completions
    assert completion_ids == [[1, 2], [3]], completion_ids
    assert answer == [10, None] and level == [{"x": [1, 2.5]}, True], (answer, level)
    assert (trainer_state.global_step, trainer_state.max_steps, trainer_state.epoch) == (3, 40, 0.25)
    assert sorted(kwargs) == [], sorted(kwargs)
    return [float(len(c)) for c in completion_ids]
)");
  trl::RewardInput in;
  in.prompts = {"p0", "p1"};
  in.prompt_values = {"p0", "p1"};
  in.completions = {"c0", "c1"};
  in.completion_ids = {{1, 2}, {3}};
  in.columns = {{{"answer", 10}, {"level", {{"x", {1, 2.5}}}}}, {{"answer", nullptr}, {"level", true}}};
  in.global_step = 3;
  in.max_steps = 40;
  in.epoch = 0.25;
  const auto got = reward({{"file", file}, {"function", "check"}})->score(in);
  EXPECT_EQ(got, (std::vector<std::optional<double>>{2.0, 1.0}));
}

TEST(PythonReward, ConversationalCompletionsAreMessageLists) {
  PyDir dir;
  const std::string file = dir.write("chat_reward.py", R"(
def chat(prompts, completions, **kwargs):
    assert prompts == [[{"role": "user", "content": "hi"}]] * 2, prompts
    assert completions == [[{"role": "assistant", "content": "a"}], [{"role": "assistant", "content": "bb"}]]
    return [float(len(c[0]["content"])) for c in completions]
)");
  trl::RewardInput in;
  in.prompts = {"<user>hi", "<user>hi"};
  const nlohmann::json chat = nlohmann::json::array({{{"role", "user"}, {"content", "hi"}}});
  in.prompt_values = {chat, chat};
  in.conversational = true;
  in.completions = {"a", "bb"};
  in.completion_ids = {{1}, {2, 2}};
  const auto got = reward({{"file", file}, {"function", "chat"}})->score(in);
  EXPECT_EQ(got, (std::vector<std::optional<double>>{1.0, 2.0}));
}

TEST(PythonReward, NoneMeansNotApplicable) {
  PyDir dir;
  const std::string file = dir.write("partial.py", R"(
def partial(completions, **kwargs):
    return [None if c == "skip" else 1 for c in completions]
)");
  const auto got = reward({{"file", file}, {"function", "partial"}})
                       ->score(input_of({"a", "skip", "b"}, {1, 1, 1}));
  EXPECT_EQ(got, (std::vector<std::optional<double>>{1.0, std::nullopt, 1.0}));
}

TEST(PythonReward, AsyncFunctionIsAwaited) {
  PyDir dir;
  const std::string file = dir.write("async_reward.py", R"(
import asyncio
async def judge(completions, **kwargs):
    await asyncio.sleep(0)
    return [0.5 for _ in completions]
)");
  const auto got = reward({{"file", file}, {"function", "judge"}})->score(input_of({"a", "b"}, {1, 1}));
  EXPECT_EQ(got, (std::vector<std::optional<double>>{0.5, 0.5}));
}

TEST(PythonReward, NumpyResultsAreRead) {
  PyDir dir;
  const std::string file = dir.write("numpy_reward.py", R"(
import numpy as np
def lengths(completions, **kwargs):
    return np.array([len(c) for c in completions], dtype=np.float32) / 2
)");
  const auto got = reward({{"file", file}, {"function", "lengths"}})->score(input_of({"ab", "abcd"}, {1, 1}));
  EXPECT_EQ(got, (std::vector<std::optional<double>>{1.0, 2.0}));
}

TEST(PythonReward, MetricNameIsTrlsName) {
  PyDir dir;
  const std::string file = dir.write("named.py", R"(
import functools
def base(completions, scale, **kwargs):
    return [scale] * len(completions)
scaled = functools.partial(base, scale=2.0)
class Judge:
    def __init__(self, bonus=0.0):
        self.bonus = bonus
        self.calls = 0
    def __call__(self, completions, **kwargs):
        self.calls += 1
        return [self.bonus + self.calls] * len(completions)
)");
  EXPECT_EQ(reward({{"file", file}, {"function", "base"}})->metric_name(), "base");
  EXPECT_EQ(reward({{"file", file}, {"function", "scaled"}})->metric_name(), "base");
  auto judge = reward({{"file", file}, {"function", "Judge"}, {"kwargs", {{"bonus", 10.0}}}});
  EXPECT_EQ(judge->metric_name(), "Judge");
  // One instance for the whole run: its state carries over from call to call.
  EXPECT_EQ(judge->score(input_of({"a"}, {1})), (std::vector<std::optional<double>>{11.0}));
  EXPECT_EQ(judge->score(input_of({"a"}, {1})), (std::vector<std::optional<double>>{12.0}));
}

TEST(PythonReward, ExceptionCarriesTheTracebacksLastLines) {
  PyDir dir;
  const std::string file = dir.write("broken.py", R"(
def helper(x):
    raise ValueError("no reward for " + x)

def broken(completions, **kwargs):
    return [helper(c) for c in completions]
)");
  auto r = reward({{"file", file}, {"function", "broken"}});
  const std::string e = error_of<trl::Error>([&] { r->score(input_of({"abc"}, {1})); });
  EXPECT_NE(e.find("reward function 'broken' (broken.py) raised ValueError: no reward for abc"), std::string::npos)
      << e;
  EXPECT_NE(e.find("broken.py\", line 3, in helper"), std::string::npos) << e;
}

TEST(PythonReward, WrongReturnTypeNamesFunctionExpectedAndGot) {
  PyDir dir;
  const std::string file = dir.write("wrong.py", R"(
def text(completions, **kwargs):
    return "1.0"
def item(completions, **kwargs):
    return [1.0, "high"]
def short(completions, **kwargs):
    return [1.0]
)");
  const trl::RewardInput in = input_of({"a", "b"}, {1, 1});
  EXPECT_EQ(error_of<trl::Error>([&] { reward({{"file", file}, {"function", "text"}})->score(in); }),
            "reward function 'text' (wrong.py) returned str '1.0'; expected a list of floats or None, one per "
            "completion (2)");
  EXPECT_EQ(error_of<trl::Error>([&] { reward({{"file", file}, {"function", "item"}})->score(in); }),
            "reward function 'item' (wrong.py) returned str 'high' as reward 1; expected a list of floats or None, "
            "one per completion (2)");
  EXPECT_EQ(error_of<trl::Error>([&] { reward({{"file", file}, {"function", "short"}})->score(in); }),
            "reward function 'short' (wrong.py) returned 1 rewards for 2 completions; expected a list of floats "
            "or None, one per completion (2)");
}

}  // namespace
