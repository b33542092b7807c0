// collate_preferences: TRL's DataCollatorForPreference tests reproduced literally (spec §5 item 1; expected
// tensors copied from trl/tests/test_dpo_trainer.py, TestDataCollatorForPreference), plus per-row truncation.
#include <cstdint>
#include <optional>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "trl/sdk/data/preference.h"
#include "trl/sdk/error.h"

namespace {

using Ids = std::vector<int64_t>;

trl::TokenizedPair pair(Ids prompt, Ids chosen, Ids rejected) {
  trl::TokenizedPair p;
  p.prompt_ids = std::move(prompt);
  p.chosen_ids = std::move(chosen);
  p.rejected_ids = std::move(rejected);
  return p;
}

at::Tensor rows(const std::vector<Ids>& values) {
  const auto width = static_cast<int64_t>(values.front().size());
  at::Tensor t = at::empty({static_cast<int64_t>(values.size()), width}, at::kLong);
  for (size_t r = 0; r < values.size(); ++r)
    for (int64_t c = 0; c < width; ++c) t[static_cast<int64_t>(r)][c] = values[r][static_cast<size_t>(c)];
  return t;
}

#define EXPECT_TENSOR_EQ(actual, expected) \
  EXPECT_TRUE(at::equal(actual, expected)) << "got\n" << (actual) << "\nexpected\n" << (expected)

TEST(CollatePreferences, PaddingAndMasks) {
  const trl::TokenizedPair a = pair({1, 2, 3}, {4, 5}, {6});
  const trl::TokenizedPair b = pair({7, 8}, {9, 10}, {11, 12, 13});
  const trl::PreferenceBatch batch =
      trl::collate_preferences({&a, &b}, /*pad_id=*/0, std::nullopt, trl::TruncationMode::keep_start);
  EXPECT_TENSOR_EQ(batch.input_ids, rows({{1, 2, 3, 4, 5}, {7, 8, 9, 10, 0}, {1, 2, 3, 6, 0}, {7, 8, 11, 12, 13}}));
  EXPECT_TENSOR_EQ(batch.attention_mask, rows({{1, 1, 1, 1, 1}, {1, 1, 1, 1, 0}, {1, 1, 1, 1, 0}, {1, 1, 1, 1, 1}}));
  EXPECT_TENSOR_EQ(batch.completion_mask, rows({{0, 0, 0, 1, 1}, {0, 0, 1, 1, 0}, {0, 0, 0, 1, 0}, {0, 0, 1, 1, 1}}));
  // TRL's output keys are exactly input_ids, attention_mask, completion_mask: no reference log-probs here.
  EXPECT_FALSE(batch.ref_chosen_logps.defined());
  EXPECT_FALSE(batch.ref_rejected_logps.defined());
  EXPECT_EQ(batch.num_pairs, 2);
  EXPECT_EQ(batch.input_ids.scalar_type(), at::kLong);
  EXPECT_EQ(batch.attention_mask.scalar_type(), at::kLong);
  EXPECT_EQ(batch.completion_mask.scalar_type(), at::kLong);
}

TEST(CollatePreferences, OptionalReferenceLogps) {
  trl::TokenizedPair a = pair({1, 2}, {3}, {4});
  a.ref_chosen_logps = 0.1;
  a.ref_rejected_logps = 0.2;
  trl::TokenizedPair b = pair({5}, {6, 7}, {8, 9});
  b.ref_chosen_logps = 0.3;
  b.ref_rejected_logps = 0.4;
  const trl::PreferenceBatch batch = trl::collate_preferences({&a, &b}, 0, std::nullopt, trl::TruncationMode::keep_start);
  ASSERT_TRUE(batch.ref_chosen_logps.defined());
  ASSERT_TRUE(batch.ref_rejected_logps.defined());
  EXPECT_EQ(batch.ref_chosen_logps.scalar_type(), at::kFloat);  // torch.tensor([0.1, 0.3]) is float32
  EXPECT_TENSOR_EQ(batch.ref_chosen_logps, at::tensor({0.1f, 0.3f}));
  EXPECT_TENSOR_EQ(batch.ref_rejected_logps, at::tensor({0.2f, 0.4f}));
}

TEST(CollatePreferences, WithPadToMultipleOf) {
  const trl::TokenizedPair a = pair({1}, {2}, {3});
  const trl::TokenizedPair b = pair({4, 5}, {6, 7}, {8, 9});
  const trl::PreferenceBatch batch =
      trl::collate_preferences({&a, &b}, 0, std::nullopt, trl::TruncationMode::keep_start, /*pad_to_multiple_of=*/5);
  EXPECT_TENSOR_EQ(batch.input_ids, rows({{1, 2, 0, 0, 0}, {4, 5, 6, 7, 0}, {1, 3, 0, 0, 0}, {4, 5, 8, 9, 0}}));
  EXPECT_EQ(batch.attention_mask.size(1), 5);
  EXPECT_EQ(batch.completion_mask.size(1), 5);
}

TEST(CollatePreferences, PadsWithThePadId) {
  const trl::TokenizedPair a = pair({1}, {2, 3}, {4});
  const trl::PreferenceBatch batch = trl::collate_preferences({&a}, /*pad_id=*/258, std::nullopt,
                                                              trl::TruncationMode::keep_start);
  EXPECT_TENSOR_EQ(batch.input_ids, rows({{1, 2, 3}, {1, 4, 258}}));
  EXPECT_TENSOR_EQ(batch.attention_mask, rows({{1, 1, 1}, {1, 1, 0}}));
}

TEST(CollatePreferences, KeepStartTruncatesEachRowToItsFirstTokens) {
  const trl::TokenizedPair a = pair({1, 2, 3}, {4, 5, 6}, {7});
  const trl::TokenizedPair b = pair({8}, {9}, {10, 11, 12, 13, 14});
  const trl::PreferenceBatch batch = trl::collate_preferences({&a, &b}, 0, 4, trl::TruncationMode::keep_start);
  EXPECT_TENSOR_EQ(batch.input_ids, rows({{1, 2, 3, 4}, {8, 9, 0, 0}, {1, 2, 3, 7}, {8, 10, 11, 12}}));
  EXPECT_TENSOR_EQ(batch.completion_mask, rows({{0, 0, 0, 1}, {0, 1, 0, 0}, {0, 0, 0, 1}, {0, 1, 1, 1}}));
  EXPECT_TENSOR_EQ(batch.attention_mask, rows({{1, 1, 1, 1}, {1, 1, 0, 0}, {1, 1, 1, 1}, {1, 1, 1, 1}}));
}

TEST(CollatePreferences, KeepEndTruncatesEachRowToItsLastTokens) {
  const trl::TokenizedPair a = pair({1, 2, 3}, {4, 5, 6}, {7});
  const trl::TokenizedPair b = pair({8}, {9}, {10, 11, 12, 13, 14});
  const trl::PreferenceBatch batch = trl::collate_preferences({&a, &b}, 0, 4, trl::TruncationMode::keep_end);
  EXPECT_TENSOR_EQ(batch.input_ids, rows({{3, 4, 5, 6}, {8, 9, 0, 0}, {1, 2, 3, 7}, {11, 12, 13, 14}}));
  // keep_end can cut the whole prompt: the row is then all completion.
  EXPECT_TENSOR_EQ(batch.completion_mask, rows({{0, 1, 1, 1}, {0, 1, 0, 0}, {0, 0, 0, 1}, {1, 1, 1, 1}}));
}

TEST(CollatePreferences, DuplicatesPromptsAcrossHalves) {
  const trl::TokenizedPair a = pair({5, 5}, {1}, {2});
  const trl::PreferenceBatch batch = trl::collate_preferences({&a}, 0, std::nullopt, trl::TruncationMode::keep_start);
  EXPECT_EQ(batch.input_ids.size(0), 2);
  EXPECT_TENSOR_EQ(batch.input_ids, rows({{5, 5, 1}, {5, 5, 2}}));
}

TEST(CollatePreferences, RefusesBadSettingsAndCallerBugs) {
  const trl::TokenizedPair a = pair({1}, {2}, {3});
  EXPECT_THROW(trl::collate_preferences({&a}, 0, 0, trl::TruncationMode::keep_start), trl::ConfigError);
  EXPECT_THROW(trl::collate_preferences({&a}, 0, std::nullopt, trl::TruncationMode::keep_start, 0), trl::ConfigError);
  EXPECT_THROW(trl::collate_preferences({}, 0, std::nullopt, trl::TruncationMode::keep_start), trl::InternalError);
  trl::TokenizedPair with_ref = pair({1}, {2}, {3});
  with_ref.ref_chosen_logps = -1;
  with_ref.ref_rejected_logps = -2;
  EXPECT_THROW(trl::collate_preferences({&a, &with_ref}, 0, std::nullopt, trl::TruncationMode::keep_start),
               trl::InternalError);
}

TEST(CollatePreferences, ToMovesEveryTensor) {
  trl::TokenizedPair a = pair({1}, {2}, {3});
  a.ref_chosen_logps = -1;
  a.ref_rejected_logps = -2;
  const trl::PreferenceBatch batch = trl::collate_preferences({&a}, 0, std::nullopt, trl::TruncationMode::keep_start);
  const trl::PreferenceBatch moved = batch.to(c10::Device(c10::kCPU));
  EXPECT_TENSOR_EQ(moved.input_ids, batch.input_ids);
  EXPECT_TENSOR_EQ(moved.ref_rejected_logps, batch.ref_rejected_logps);
  EXPECT_EQ(moved.num_pairs, 1);
}

}  // namespace
