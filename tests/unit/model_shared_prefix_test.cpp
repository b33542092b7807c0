// shared_prefix_hidden_states() against the plain forward: hidden states and every weight's gradient,
// rows sharing a prompt in DPO's layout (right-padded, chosen rows then rejected rows) and GRPO's (G
// rows per prompt), on the sliced and the batched attention paths; shared_prefix_length() on rows whose
// answer is worked out by hand; the growing KVCache's refusal of a bad source.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "model_test_support.h"
#include "trl/sdk/error.h"
#include "trl/sdk/model/causal_lm.h"
#include "trl/sdk/model/shared_prefix.h"

namespace {

using trl::CausalLM;
using trl::testing_support::long_matrix;
using trl::testing_support::tiny_model_config;

/// Rows with random ids: row r copies the first `prefix` columns of row source[r]; row r keeps
/// `length[r]` real tokens, then right padding (id 0, mask 0).
struct Rows {
  at::Tensor ids, mask, source;
};
Rows make_rows(const std::vector<int64_t>& source, const std::vector<int64_t>& length, int64_t T, int64_t prefix) {
  const auto R = static_cast<int64_t>(source.size());
  Rows rows;
  rows.ids = at::randint(1, 64, {R, T}, at::kLong);
  rows.mask = at::ones({R, T}, at::kLong);
  for (int64_t r = 0; r < R; ++r) {
    const int64_t s = source[static_cast<size_t>(r)];
    rows.ids[r].narrow(0, 0, prefix).copy_(rows.ids[s].narrow(0, 0, prefix));
    const int64_t n = length[static_cast<size_t>(r)];
    rows.mask[r].narrow(0, n, T - n).fill_(0);
    rows.ids[r].narrow(0, n, T - n).fill_(0);
  }
  rows.source = at::tensor(source, at::kLong);
  return rows;
}

class SharedPrefix : public ::testing::Test {
 protected:
  void SetUp() override {
    at::set_num_threads(1);
    at::manual_seed(3);
    model_ = CausalLM::from_config(tiny_model_config("qwen2", {{"initializer_range", 0.3}}), 5);
  }

  /// Hidden states and gradients of both forwards under the same random loss, compared to `tolerance`.
  void expect_same_as_plain(const Rows& rows, int64_t prefix) {
    for (const at::Tensor& w : model_->parameters()) w.mutable_grad() = at::Tensor();
    const at::Tensor plain = model_->hidden_states(rows.ids, rows.mask);
    const at::Tensor weights = at::randn(plain.sizes());
    (plain * weights).sum().backward();
    std::vector<at::Tensor> plain_grads;
    for (const auto& [name, w] : model_->named_parameters())  // undefined for a weight the forward skips (lm_head)
      plain_grads.push_back(w.grad().defined() ? w.grad().clone() : at::Tensor());
    for (const at::Tensor& w : model_->parameters()) w.mutable_grad() = at::Tensor();

    const at::Tensor shared = trl::shared_prefix_hidden_states(*model_, rows.ids, rows.mask, rows.source, prefix);
    ASSERT_EQ(shared.sizes(), plain.sizes());
    EXPECT_TRUE(at::allclose(shared, plain, 1e-5, 1e-5)) << (shared - plain).abs().max().item<double>();
    (shared * weights).sum().backward();
    size_t i = 0;
    for (const auto& [name, w] : model_->named_parameters()) {
      const at::Tensor& expected = plain_grads[i++];
      ASSERT_EQ(w.grad().defined(), expected.defined()) << name;
      if (!expected.defined()) continue;
      // Sums over every position in another order: float rounding relative to the largest entry.
      const double error = (w.grad() - expected).abs().max().item<double>();
      EXPECT_LE(error, 1e-5 * expected.abs().max().item<double>()) << name;
    }
  }

  std::unique_ptr<CausalLM> model_;
};

TEST_F(SharedPrefix, DpoPairsEqualThePlainForwardWithGradients) {
  // 3 pairs: rows 0-2 chosen, 3-5 rejected; prompts of 20 tokens, ragged completions. The tail (44
  // columns over 64 keys, 2 query heads per key/value head) takes the sliced attention path.
  const Rows rows = make_rows({0, 1, 2, 0, 1, 2}, {64, 50, 37, 41, 64, 30}, 64, 20);
  ASSERT_GE(trl::shared_prefix_length(rows.ids, rows.mask, rows.source), 20);
  expect_same_as_plain(rows, 20);
}

TEST_F(SharedPrefix, GroupsOfGenerationsEqualThePlainForward) {
  // 2 prompts x 3 generations, short rows: the batched attention path.
  const Rows rows = make_rows({0, 0, 0, 3, 3, 3}, {12, 16, 9, 16, 14, 11}, 16, 6);
  expect_same_as_plain(rows, 6);
  expect_same_as_plain(rows, 4);  // any shorter prefix works too
}

TEST_F(SharedPrefix, LengthIsTheFirstDifferingColumnCappedBelowT) {
  const at::Tensor ids = long_matrix({{5, 6, 7, 8, 9}, {5, 6, 7, 1, 9}, {5, 6, 2, 8, 9}, {5, 6, 2, 8, 9}});
  // Rows 1 and 3 copy rows 0 and 2: 3 and 5 (capped at T - 1 = 4) shared columns; the minimum is 3.
  EXPECT_EQ(trl::shared_prefix_length(ids, {}, at::tensor({0, 0, 2, 2}, at::kLong)), 3);
  // A different mask breaks the prefix where it differs.
  const at::Tensor mask = long_matrix({{1, 1, 1, 1, 1}, {1, 1, 1, 1, 1}, {1, 1, 1, 1, 1}, {1, 1, 1, 1, 0}});
  EXPECT_EQ(trl::shared_prefix_length(ids, mask, at::tensor({0, 1, 2, 2}, at::kLong)), 4);
  EXPECT_EQ(trl::shared_prefix_length(ids, {}, at::tensor({0, 1, 2, 2}, at::kLong)), 4);
  EXPECT_EQ(trl::shared_prefix_length(ids, {}, at::tensor({0, 1, 0, 3}, at::kLong)), 2);
  EXPECT_EQ(trl::shared_prefix_length(ids, {}, at::tensor({0, 1, 2, 3}, at::kLong)), 0) << "nothing shared";
  const at::Tensor unrelated = long_matrix({{1, 2}, {3, 4}});
  EXPECT_EQ(trl::shared_prefix_length(unrelated, {}, at::tensor({0, 0}, at::kLong)), 0);
}

TEST_F(SharedPrefix, SourcesAreTheFirstRowWithTheSamePrefix) {
  const at::Tensor ids = long_matrix({{0, 7, 1, 2}, {0, 7, 3, 4}, {5, 6, 1, 1}, {0, 7, 9, 9}, {5, 6, 2, 2}, {0, 6, 1, 2}});
  EXPECT_TRUE(at::equal(trl::prefix_sources(ids, {}, 2), at::tensor({0, 0, 2, 0, 2, 5}, at::kLong)));
  EXPECT_TRUE(at::equal(trl::prefix_sources(ids, {}, 0), at::zeros({6}, at::kLong)));
  // Left padding: the same ids under another mask are another prompt.
  const at::Tensor mask = long_matrix({{0, 1, 1, 1}, {1, 1, 1, 1}, {1, 1, 1, 1}, {0, 1, 1, 1}, {1, 1, 1, 1}, {1, 1, 1, 1}});
  EXPECT_TRUE(at::equal(trl::prefix_sources(ids, mask, 2), at::tensor({0, 1, 2, 0, 2, 5}, at::kLong)));
}

TEST_F(SharedPrefix, RefusesSourcesThatAreNotRootsAndPrefixesNotShared) {
  const Rows rows = make_rows({0, 0, 1}, {8, 8, 8}, 8, 3);  // row 2's source is row 1, itself a copy
  EXPECT_THROW(trl::shared_prefix_length(rows.ids, rows.mask, rows.source), trl::InternalError);
  const Rows pairs = make_rows({0, 0}, {8, 8}, 8, 3);
  EXPECT_THROW(trl::shared_prefix_hidden_states(*model_, pairs.ids, pairs.mask, pairs.source, 5), trl::InternalError);
  EXPECT_THROW(trl::shared_prefix_hidden_states(*model_, pairs.ids, pairs.mask, pairs.source, 8), trl::InternalError);
}

}  // namespace
