// KVCache: preallocated buffers written in place, the mask of every filled position, capacity checks,
// row selection, and recovery from a step that never ended.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "model_test_support.h"
#include "trl/sdk/error.h"
#include "trl/sdk/model/causal_lm.h"
#include "trl/sdk/model/kv_cache.h"

namespace {

using trl::CausalLM;
using trl::KVCache;
using trl::testing_support::long_matrix;
using trl::testing_support::tiny_model_config;

TEST(KVCache, AppendWritesInPlaceAndReturnsTheFilledPrefix) {
  auto model = CausalLM::from_config(tiny_model_config(), 1);  // 2 kv heads, head_dim 8
  KVCache cache(*model, 2, 5);
  EXPECT_EQ(cache.max_length(), 5);
  EXPECT_EQ(cache.length(), 0);
  cache.begin_step(long_matrix({{0, 1, 1}, {1, 1, 1}}));
  const at::Tensor k = at::randn({2, 2, 3, 8}), v = at::randn({2, 2, 3, 8});
  auto [keys, values] = cache.append(0, k, v);
  EXPECT_EQ(keys.sizes(), (std::vector<int64_t>{2, 2, 3, 8}));
  EXPECT_TRUE(at::equal(keys, k));
  EXPECT_TRUE(at::equal(values, v));
  cache.end_step();
  EXPECT_EQ(cache.length(), 3);

  cache.begin_step(at::ones({2, 1}, at::kLong));
  const at::Tensor k2 = at::randn({2, 2, 1, 8});
  auto [keys2, values2] = cache.append(0, k2, k2);
  EXPECT_EQ(keys2.size(2), 4);
  EXPECT_TRUE(at::equal(keys2.narrow(2, 0, 3), k)) << "earlier positions are kept";
  EXPECT_TRUE(at::equal(keys2.narrow(2, 3, 1), k2));
  EXPECT_EQ(keys2.data_ptr(), keys.data_ptr()) << "same preallocated buffer";
  EXPECT_TRUE(at::equal(cache.attention_mask(), long_matrix({{0, 1, 1, 1}, {1, 1, 1, 1}})));
  cache.end_step();
}

TEST(KVCache, RefusesToPassCapacity) {
  auto model = CausalLM::from_config(tiny_model_config(), 1);
  KVCache cache(*model, 1, 4);
  cache.begin_step(at::ones({1, 3}, at::kLong));
  cache.end_step();
  try {
    cache.begin_step(at::ones({1, 2}, at::kLong));
    FAIL() << "expected an InternalError";
  } catch (const trl::InternalError& e) {
    EXPECT_NE(std::string(e.what()).find("3 cached + 2 new positions exceed the capacity of 4"), std::string::npos)
        << e.what();
  }
}

TEST(KVCache, SelectRowsKeepsTheChosenRowsInOrder) {
  auto model = CausalLM::from_config(tiny_model_config(), 1);
  KVCache cache(*model, 3, 6);
  cache.begin_step(long_matrix({{1, 1}, {0, 1}, {1, 1}}));
  const at::Tensor k = at::randn({3, 2, 2, 8});
  for (int64_t layer = 0; layer < 2; ++layer) cache.append(layer, k, k * 2);
  cache.end_step();
  cache.select_rows(at::tensor({2, 1}, at::kLong));
  EXPECT_EQ(cache.batch_size(), 2);
  EXPECT_EQ(cache.length(), 2);
  EXPECT_TRUE(at::equal(cache.attention_mask(), long_matrix({{1, 1}, {0, 1}})));
  cache.begin_step(at::ones({2, 1}, at::kLong));
  auto [keys, values] = cache.append(1, at::zeros({2, 2, 1, 8}), at::zeros({2, 2, 1, 8}));
  EXPECT_TRUE(at::equal(keys.narrow(2, 0, 2), k.index_select(0, at::tensor({2, 1}, at::kLong))));
  EXPECT_TRUE(at::equal(values.narrow(2, 0, 2), (k * 2).index_select(0, at::tensor({2, 1}, at::kLong))));
}

TEST(KVCache, AbandonedStepIsDiscarded) {
  auto model = CausalLM::from_config(tiny_model_config(), 1);
  KVCache cache(*model, 1, 4);
  c10::InferenceMode guard;
  const at::Tensor ids = long_matrix({{3, 4}});
  // A forward that throws mid-way (token 99 is outside the vocabulary) must not corrupt the cache.
  EXPECT_THROW(model->hidden_states(long_matrix({{99}}), {}, {}, &cache), trl::ModelError);
  const at::Tensor with_cache = model->hidden_states(ids, {}, {}, &cache);
  EXPECT_EQ(cache.length(), 2);
  EXPECT_TRUE(at::allclose(with_cache, model->hidden_states(ids), 1e-6, 1e-6));
}

TEST(KVCache, FollowsTheModelsDeviceAndDtype) {
  trl::ModelOptions options;
  options.dtype = at::kBFloat16;
  auto model = CausalLM::from_config(tiny_model_config("qwen3"), 1, options);
  KVCache cache(*model, 1, 2);
  cache.begin_step(at::ones({1, 1}, at::kLong));
  auto [keys, values] = cache.append(0, at::zeros({1, 2, 1, 16}, at::kBFloat16), at::zeros({1, 2, 1, 16}, at::kBFloat16));
  EXPECT_EQ(keys.scalar_type(), at::kBFloat16);
  EXPECT_EQ(keys.size(3), 16);
}

}  // namespace
