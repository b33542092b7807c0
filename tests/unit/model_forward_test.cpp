// CausalLM forward semantics beyond the golden values: padding on either side leaves real tokens'
// log-probs unchanged, incremental decoding through the KV cache equals the full forward, gradients reach
// every weight, copies are independent, bad input is refused with a message.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include "model_test_support.h"
#include "trl/sdk/error.h"
#include "trl/sdk/model/causal_lm.h"
#include "trl/sdk/model/kv_cache.h"
#include "trl/sdk/model/token_stats.h"

namespace {

using trl::CausalLM;
using trl::testing_support::long_matrix;
using trl::testing_support::tiny_model_config;

class ModelForward : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    at::set_num_threads(1);
    model_ = CausalLM::from_config(tiny_model_config(GetParam()), /*seed=*/7);
  }
  /// Next-token log-probs of an unpadded sequence (1, T-1).
  at::Tensor logps_alone(const at::Tensor& ids) const {
    const int64_t T = ids.size(1);
    at::Tensor labels = at::full_like(ids, trl::kIgnoreIndex);
    labels.narrow(1, 0, T - 1).copy_(ids.narrow(1, 1, T - 1));
    return trl::token_stats(*model_, model_->hidden_states(ids), labels).logps.narrow(1, 0, T - 1);
  }
  std::unique_ptr<CausalLM> model_;
};

TEST_P(ModelForward, LeftAndRightPaddingLeaveRealTokensUnchanged) {
  const at::Tensor seq = at::tensor({5, 17, 33, 9, 41, 12}, at::kLong).unsqueeze(0);  // (1, 6)
  const at::Tensor alone = logps_alone(seq);                                          // (1, 5)
  const int64_t pad = 3;
  // Row 0 left-padded, row 1 right-padded, in one batch of length 9 with junk ids in the padding.
  at::Tensor ids = at::full({2, 9}, 60, at::kLong);
  at::Tensor mask = at::zeros({2, 9}, at::kLong);
  ids[0].narrow(0, pad, 6).copy_(seq[0]);
  mask[0].narrow(0, pad, 6).fill_(1);
  ids[1].narrow(0, 0, 6).copy_(seq[0]);
  mask[1].narrow(0, 0, 6).fill_(1);
  at::Tensor labels = at::full({2, 9}, trl::kIgnoreIndex, at::kLong);
  labels[0].narrow(0, pad, 5).copy_(seq[0].narrow(0, 1, 5));
  labels[1].narrow(0, 0, 5).copy_(seq[0].narrow(0, 1, 5));
  const at::Tensor hidden = model_->hidden_states(ids, mask);
  EXPECT_TRUE(hidden.isfinite().all().item<bool>()) << "padding positions must stay finite";
  const at::Tensor logps = trl::token_stats(*model_, hidden, labels).logps;
  EXPECT_TRUE(at::allclose(logps[0].narrow(0, pad, 5), alone[0], 1e-5, 1e-5)) << logps[0] << alone[0];
  EXPECT_TRUE(at::allclose(logps[1].narrow(0, 0, 5), alone[0], 1e-5, 1e-5)) << logps[1] << alone[0];
}

TEST_P(ModelForward, CachedDecodingEqualsFullForward) {
  const at::Tensor ids = long_matrix({{0, 0, 4, 8, 15, 16, 23, 42}, {7, 1, 2, 3, 5, 8, 13, 21}});
  const at::Tensor mask = long_matrix({{0, 0, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1, 1, 1}});
  c10::InferenceMode guard;
  const at::Tensor full = model_->hidden_states(ids, mask);  // (2, 8, H)
  trl::KVCache cache(*model_, 2, 8);
  // Prefill 5 positions, then one at a time.
  const at::Tensor prefill = model_->hidden_states(ids.narrow(1, 0, 5), mask.narrow(1, 0, 5), {}, &cache);
  std::vector<at::Tensor> parts{prefill};
  for (int64_t t = 5; t < 8; ++t)
    parts.push_back(model_->hidden_states(ids.narrow(1, t, 1), mask.narrow(1, t, 1), {}, &cache));
  EXPECT_EQ(cache.length(), 8);
  const at::Tensor incremental = at::cat(parts, 1);
  const at::Tensor real = mask.to(at::kBool);
  EXPECT_TRUE(at::allclose(incremental.index({real}), full.index({real}), 1e-5, 1e-5))
      << "max |diff| " << (incremental - full).index({real}).abs().max().item<float>();
}

TEST_P(ModelForward, ExplicitPositionIdsEqualTheDefault) {
  const at::Tensor ids = long_matrix({{0, 0, 4, 8, 15}});
  const at::Tensor mask = long_matrix({{0, 0, 1, 1, 1}});
  const at::Tensor positions = long_matrix({{0, 0, 0, 1, 2}});
  c10::InferenceMode guard;
  EXPECT_TRUE(at::equal(model_->hidden_states(ids, mask), model_->hidden_states(ids, mask, positions)));
  // RoPE sees relative positions only: a uniform shift changes nothing, a gap changes the later tokens.
  const at::Tensor shifted = long_matrix({{0, 0, 5, 6, 7}});
  const at::Tensor gapped = long_matrix({{0, 0, 0, 2, 3}});
  EXPECT_TRUE(at::allclose(model_->hidden_states(ids, mask).narrow(1, 2, 3),
                           model_->hidden_states(ids, mask, shifted).narrow(1, 2, 3), 1e-4, 1e-5));
  EXPECT_FALSE(at::allclose(model_->hidden_states(ids, mask).narrow(1, 3, 2),
                            model_->hidden_states(ids, mask, gapped).narrow(1, 3, 2), 1e-4, 1e-5))
      << "positions must reach RoPE";
}

TEST_P(ModelForward, GradientsReachEveryWeight) {
  const at::Tensor ids = long_matrix({{3, 9, 27, 17, 51, 33}});
  at::Tensor labels = at::full_like(ids, trl::kIgnoreIndex);
  labels.narrow(1, 0, 5).copy_(ids.narrow(1, 1, 5));
  trl::token_stats(*model_, model_->hidden_states(ids), labels).logps.sum().backward();
  for (const auto& [name, t] : model_->named_parameters()) {
    ASSERT_TRUE(t.grad().defined()) << name;
    EXPECT_GT(t.grad().abs().sum().item<double>(), 0.0) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Families, ModelForward, ::testing::Values("qwen2", "llama", "qwen3", "mistral"));

TEST(CausalLM, SeededInitIsReproducibleAndFollowsHfInit) {
  const auto config = tiny_model_config("qwen2", {{"pad_token_id", 0}});
  auto a = CausalLM::from_config(config, 11), b = CausalLM::from_config(config, 11), c = CausalLM::from_config(config, 12);
  for (size_t i = 0; i < a->named_parameters().size(); ++i) {
    const auto& [name, t] = a->named_parameters()[i];
    EXPECT_TRUE(at::equal(t, b->named_parameters()[i].second)) << name;
    EXPECT_TRUE(t.requires_grad()) << name;
  }
  EXPECT_FALSE(at::equal(a->lm_head_weight(), c->lm_head_weight()));
  const at::Tensor& embed = a->named_parameters().front().second;
  EXPECT_EQ(embed[0].abs().sum().item<float>(), 0.0f) << "nn.Embedding(padding_idx) starts that row at zero";
  const at::Tensor rest = embed.narrow(0, 1, embed.size(0) - 1);
  EXPECT_NEAR(rest.std().item<double>(), 0.2, 0.01) << "normal(0, initializer_range)";
  for (const auto& [name, t] : a->named_parameters()) {
    if (name.find("norm") != std::string::npos) {
      EXPECT_TRUE(at::equal(t, at::ones_like(t))) << name;
    }
    if (name.find("bias") != std::string::npos) {
      EXPECT_TRUE(at::equal(t, at::zeros_like(t))) << name;
    }
  }
}

TEST(CausalLM, TiedHeadIsTheEmbedding) {
  auto model = CausalLM::from_config(tiny_model_config("qwen3", {{"tie_word_embeddings", true}}), 1);
  EXPECT_TRUE(model->lm_head_weight().is_same(model->named_parameters().front().second));
  for (const auto& [name, t] : model->named_parameters()) EXPECT_NE(name, "lm_head.weight");
}

TEST(CausalLM, HfNamesInHfOrder) {
  auto model = CausalLM::from_config(tiny_model_config("qwen3"), 1);
  const auto& named = model->named_parameters();
  ASSERT_GE(named.size(), 13u);
  const std::vector<std::string> first = {"model.embed_tokens.weight",
                                          "model.layers.0.self_attn.q_proj.weight",
                                          "model.layers.0.self_attn.k_proj.weight",
                                          "model.layers.0.self_attn.v_proj.weight",
                                          "model.layers.0.self_attn.o_proj.weight",
                                          "model.layers.0.self_attn.q_norm.weight",
                                          "model.layers.0.self_attn.k_norm.weight",
                                          "model.layers.0.mlp.gate_proj.weight",
                                          "model.layers.0.mlp.up_proj.weight",
                                          "model.layers.0.mlp.down_proj.weight",
                                          "model.layers.0.input_layernorm.weight",
                                          "model.layers.0.post_attention_layernorm.weight"};
  for (size_t i = 0; i < first.size(); ++i) EXPECT_EQ(named[i].first, first[i]);
  EXPECT_EQ(named.back().first, "lm_head.weight");
  EXPECT_EQ(named[1].second.sizes(), (std::vector<int64_t>{64, 32}));  // 4 heads × head_dim 16, hidden 32
}

TEST(CausalLM, CloneIsIndependentAndCopyWeightsRestores) {
  auto model = CausalLM::from_config(tiny_model_config(), 3);
  auto copy = model->clone();
  const at::Tensor ids = long_matrix({{1, 2, 3, 4}});
  const at::Tensor before = model->hidden_states(ids).detach();
  {
    at::NoGradGuard no_grad;
    for (auto& [name, t] : copy->named_parameters()) t.add_(0.5);
  }
  EXPECT_TRUE(at::equal(model->hidden_states(ids).detach(), before)) << "clone shares storage";
  copy->copy_weights_from(*model);
  EXPECT_TRUE(at::equal(copy->hidden_states(ids).detach(), before));
  EXPECT_TRUE(copy->named_parameters()[0].second.requires_grad());
}

TEST(CausalLM, CopyWeightsRefusesAnotherLayout) {
  auto a = CausalLM::from_config(tiny_model_config("qwen2"), 3);
  auto b = CausalLM::from_config(tiny_model_config("llama"), 3);
  EXPECT_THROW(a->copy_weights_from(*b), trl::ModelError);
}

TEST(CausalLM, SetRequiresGradFreezes) {
  auto model = CausalLM::from_config(tiny_model_config(), 3);
  model->set_requires_grad(false);
  for (const auto& t : model->parameters()) EXPECT_FALSE(t.requires_grad());
  EXPECT_FALSE(model->hidden_states(long_matrix({{1, 2}})).requires_grad());
}

TEST(CausalLM, RefusesTokenOutsideVocabulary) {
  auto model = CausalLM::from_config(tiny_model_config(), 3);
  try {
    model->hidden_states(long_matrix({{1, 64}}));
    FAIL() << "expected a ModelError";
  } catch (const trl::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("token id 64 is outside the vocabulary [0, 64)"), std::string::npos) << e.what();
  }
}

TEST(CausalLM, RefusesSequencesLongerThanTheSlidingWindow) {
  auto model = CausalLM::from_config(tiny_model_config("mistral", {{"sliding_window", 4}}), 3);
  EXPECT_NO_THROW(model->hidden_states(long_matrix({{1, 2, 3, 4}})));
  try {
    model->hidden_states(long_matrix({{1, 2, 3, 4, 5}}));
    FAIL() << "expected a ModelError";
  } catch (const trl::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("sliding_window: 4"), std::string::npos) << e.what();
  }
}

TEST(CausalLM, Bfloat16ModelRuns) {
  trl::ModelOptions options;
  options.dtype = at::kBFloat16;
  auto model = CausalLM::from_config(tiny_model_config("qwen3"), 3, options);
  auto reference = CausalLM::from_config(tiny_model_config("qwen3"), 3);
  const at::Tensor ids = long_matrix({{1, 2, 3, 4, 5}});
  const at::Tensor h = model->hidden_states(ids);
  EXPECT_EQ(h.scalar_type(), at::kBFloat16);
  EXPECT_TRUE(at::allclose(h.to(at::kFloat), reference->hidden_states(ids), 0.1, 0.1));
}

}  // namespace
