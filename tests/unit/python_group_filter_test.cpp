// The `python` group filter: TRL's GFPO group_filter_func called once per batch with every group, and
// its result checked.
#include <gtest/gtest.h>

#include "python_test_support.h"
#include "trl/sdk/error.h"

namespace {

using python_test::error_of;
using python_test::group_filter;
using python_test::PyDir;

std::vector<trl::CompletionGroup> groups_of(size_t count, size_t G) {
  std::vector<trl::CompletionGroup> groups(count);
  for (size_t k = 0; k < count; ++k) {
    for (size_t j = 0; j < G; ++j) {
      groups[k].completions.push_back("g" + std::to_string(k) + "c" + std::to_string(j));
      groups[k].completion_ids.push_back({1});
      groups[k].lengths.push_back(1);
      groups[k].rewards.push_back(static_cast<double>(10 * k + j));
    }
  }
  return groups;
}

TEST(PythonGroupFilter, PageGroupFilterScoresByPosition) {
  // TRL's documentation GroupFilter, verbatim in examples/python/group_filter.py.
  auto filter = group_filter({{"file", python_test::example("group_filter.py")}, {"function", "GroupFilter"}});
  const trl::GroupScores got = filter->score_groups(groups_of(3, 4), /*num_remains_in_group=*/2);
  ASSERT_EQ(got.scores.size(), 3u);
  for (const std::vector<double>& scores : got.scores) EXPECT_EQ(scores, (std::vector<double>{0, 1, 2, 3}));
  EXPECT_EQ(got.keep_counts, (std::vector<int64_t>{2, 2, 2}));
}

TEST(PythonGroupFilter, CalledOnceWithEveryGroup) {
  PyDir dir;
  const std::string file = dir.write("recording.py", R"(
calls = []
def by_reward(group_completions, group_rewards, **kwargs):
    calls.append((group_completions, group_rewards))
    assert not kwargs, kwargs
    return [[-r for r in rewards] for rewards in group_rewards]
)");
  auto filter = group_filter({{"file", file}, {"function", "by_reward"}});
  std::vector<trl::CompletionGroup> groups = groups_of(2, 3);
  for (trl::CompletionGroup& g : groups) g.conversational = true;
  const trl::GroupScores got = filter->score_groups(groups, 2);
  EXPECT_EQ(got.scores, (std::vector<std::vector<double>>{{-0.0, -1.0, -2.0}, {-10.0, -11.0, -12.0}}));
  // The module ran once: another file importing it by name sees the calls recorded above.
  const std::string check = dir.write("check_calls.py", R"(
import recording
def check(group_completions, group_rewards, **kwargs):
    assert len(recording.calls) == 1, recording.calls
    completions, rewards = recording.calls[0]
    assert completions[1][2] == [{"role": "assistant", "content": "g1c2"}], completions
    assert rewards == [[0.0, 1.0, 2.0], [10.0, 11.0, 12.0]], rewards
    return [[0.0] * len(c) for c in group_completions]
)");
  auto checker = group_filter({{"file", check}, {"function", "check"}});
  EXPECT_EQ(checker->score_groups(groups_of(1, 2), 2).scores.size(), 1u);
}

TEST(PythonGroupFilter, WrongShapeNamesFunctionExpectedAndGot) {
  PyDir dir;
  const std::string file = dir.write("bad_filters.py", R"(
def flat(group_completions, group_rewards):
    return [1.0, 2.0]
def short(group_completions, group_rewards):
    return [[1.0, 2.0], [1.0]]
def none_score(group_completions, group_rewards):
    return [[1.0, None]] * len(group_completions)
)");
  const std::vector<trl::CompletionGroup> groups = groups_of(2, 2);
  EXPECT_EQ(error_of<trl::Error>([&] { group_filter({{"file", file}, {"function", "flat"}})->score_groups(groups, 2); }),
            "group filter 'flat' (bad_filters.py) returned float 1.0 as the scores of group 0; expected a list of 2 "
            "lists (one per group) of 2 float scores each");
  EXPECT_EQ(error_of<trl::Error>([&] { group_filter({{"file", file}, {"function", "short"}})->score_groups(groups, 2); }),
            "group filter 'short' (bad_filters.py) returned 1 scores for group 1 of 2 completions; expected a list "
            "of 2 lists (one per group) of 2 float scores each");
  EXPECT_NE(error_of<trl::Error>([&] {
              group_filter({{"file", file}, {"function", "none_score"}})->score_groups(groups, 2);
            }).find("returned NoneType None as score 1 of group 0"),
            std::string::npos);
}

}  // namespace
