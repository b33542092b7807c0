// token_stats: values and gradients against a naive full log_softmax + gather (float64), the optional
// statistics against their definitions, chunking, temperature, ignored positions and bad labels.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "core/kernel_dispatch.h"
#include "model_test_support.h"
#include "trl/sdk/error.h"
#include "trl/sdk/model/causal_lm.h"
#include "trl/sdk/model/token_stats.h"
#include "train/autocast_scope.h"

namespace {

using trl::CausalLM;
using trl::TokenStatsOptions;
using trl::testing_support::long_matrix;
using trl::testing_support::tiny_model_config;

class TokenStats : public ::testing::Test {
 protected:
  void SetUp() override {
    at::set_num_threads(1);
    at::manual_seed(0);
    trl::ModelOptions f64;
    f64.dtype = at::kDouble;
    model_ = CausalLM::from_config(tiny_model_config("qwen2", {{"initializer_range", 1.0}}), 2, f64);
    hidden_ = at::randn({3, 5, 32}, at::kDouble).requires_grad_(true);  // (B, T, H)
    labels_ = at::randint(0, 64, {3, 5}, at::kLong);
    labels_[0][0] = trl::kIgnoreIndex;
    labels_[1].fill_(trl::kIgnoreIndex);
    labels_[2][4] = trl::kIgnoreIndex;
  }
  /// The full (B, T, V) logits, as a naive implementation computes them.
  at::Tensor naive_logits(double temperature = 1.0) const {
    return at::linear(hidden_, model_->lm_head_weight()) / temperature;
  }
  at::Tensor keep() const { return labels_.ne(trl::kIgnoreIndex); }
  /// log_softmax then gather, zero where ignored (TRL's selective_log_softmax + mask).
  at::Tensor naive_logps(double temperature = 1.0) const {
    const at::Tensor ids = labels_.masked_fill(keep().logical_not(), 0).unsqueeze(-1);
    return naive_logits(temperature).log_softmax(-1).gather(-1, ids).squeeze(-1) * keep();
  }
  std::unique_ptr<CausalLM> model_;
  at::Tensor hidden_, labels_;
};

TEST_F(TokenStats, LogpsEqualNaiveLogSoftmaxGather) {
  for (int64_t chunk : {0, 1, 3, 4, 1024}) {  // 0 = automatic
    TokenStatsOptions options;
    options.chunk_rows = chunk;
    const at::Tensor logps = trl::token_stats(*model_, hidden_, labels_, options).logps;
    EXPECT_EQ(logps.scalar_type(), at::kDouble);
    EXPECT_TRUE(at::allclose(logps, naive_logps(), 1e-12, 1e-12)) << "chunk_rows " << chunk;
    EXPECT_TRUE(at::equal(logps.masked_select(keep().logical_not()), at::zeros({7}, at::kDouble)));
  }
}

TEST_F(TokenStats, GradientsEqualNaiveAutograd) {
  for (double temperature : {1.0, 0.7}) {
    const at::Tensor weights = at::randn({3, 5}, at::kDouble);  // a loss that weighs tokens differently
    auto grads_of = [&](const at::Tensor& logps) {
      hidden_.mutable_grad() = at::Tensor();
      model_->lm_head_weight().mutable_grad() = at::Tensor();
      (logps * weights).sum().backward();
      return std::make_pair(hidden_.grad().clone(), model_->lm_head_weight().grad().clone());
    };
    const auto [naive_h, naive_w] = grads_of(naive_logps(temperature));
    for (int64_t keep_mb : {0, 256}) {  // logits recomputed in the backward pass, or probabilities kept
      TokenStatsOptions options;
      options.chunk_rows = 3;
      options.temperature = temperature;
      options.keep_probabilities_mb = keep_mb;
      const auto [ours_h, ours_w] = grads_of(trl::token_stats(*model_, hidden_, labels_, options).logps);
      EXPECT_TRUE(at::allclose(ours_h, naive_h, 1e-10, 1e-12)) << "hidden, temperature " << temperature << ", keep " << keep_mb;
      EXPECT_TRUE(at::allclose(ours_w, naive_w, 1e-10, 1e-12)) << "lm_head, temperature " << temperature << ", keep " << keep_mb;
    }
  }
}

TEST_F(TokenStats, SecondBackwardPassAfterKeptProbabilitiesIsTheSame) {
  // The kept probabilities are used up by the first backward pass; with retain_graph a second one
  // recomputes them and must give the same gradients.
  const at::Tensor loss = trl::token_stats(*model_, hidden_, labels_).logps.sum();
  loss.backward({}, /*retain_graph=*/true);
  const at::Tensor first = hidden_.grad().clone();
  hidden_.mutable_grad() = at::Tensor();
  loss.backward();
  EXPECT_TRUE(at::allclose(hidden_.grad(), first, 1e-12, 1e-12));
}

TEST_F(TokenStats, KeptProbabilitiesGiveTheSameValuesAndStatistics) {
  TokenStatsOptions recompute, keep;
  recompute.entropy = recompute.mean_logit = recompute.argmax_hit = recompute.log_sum_p2 = true;
  recompute.temperature = 0.5;
  recompute.chunk_rows = 2;
  recompute.keep_probabilities_mb = 0;
  keep = recompute;
  keep.keep_probabilities_mb = 1;  // 8 rows x 64 doubles fit
  const trl::TokenStats a = trl::token_stats(*model_, hidden_, labels_, recompute);
  const trl::TokenStats b = trl::token_stats(*model_, hidden_, labels_, keep);
  EXPECT_TRUE(at::allclose(a.logps, b.logps, 1e-12, 1e-12));
  EXPECT_TRUE(at::allclose(a.entropy, b.entropy, 1e-12, 1e-12));
  EXPECT_TRUE(at::allclose(a.mean_logit, b.mean_logit, 1e-12, 1e-12));
  EXPECT_TRUE(at::equal(a.argmax_hit, b.argmax_hit));
  EXPECT_TRUE(at::allclose(a.log_sum_p2, b.log_sum_p2, 1e-12, 1e-12));
}

// entropy_grad (GRPO's entropy bonus): the entropy's gradient, alone and together with the log-probs', equals
// autograd through the naive -Σ p log p, for hidden states and lm_head, with and without temperature.
TEST_F(TokenStats, EntropyGradientEqualsNaiveAutograd) {
  for (double temperature : {1.0, 0.7}) {
    const at::Tensor w_logps = at::randn({3, 5}, at::kDouble), w_entropy = at::randn({3, 5}, at::kDouble);
    for (bool with_logps : {false, true}) {
      auto grads_of = [&](const at::Tensor& logps, const at::Tensor& entropy) {
        hidden_.mutable_grad() = at::Tensor();
        model_->lm_head_weight().mutable_grad() = at::Tensor();
        at::Tensor loss = (entropy * w_entropy).sum();
        if (with_logps) loss = loss + (logps * w_logps).sum();
        loss.backward();
        return std::make_pair(hidden_.grad().clone(), model_->lm_head_weight().grad().clone());
      };
      TokenStatsOptions options;
      options.entropy_grad = true;  // implies entropy
      options.chunk_rows = 3;
      options.temperature = temperature;
      const trl::TokenStats s = trl::token_stats(*model_, hidden_, labels_, options);
      ASSERT_TRUE(s.entropy.defined());
      EXPECT_TRUE(s.entropy.requires_grad());
      const auto [ours_h, ours_w] = grads_of(s.logps, s.entropy);
      const at::Tensor logp = naive_logits(temperature).log_softmax(-1);
      const auto [naive_h, naive_w] = grads_of(naive_logps(temperature), -(logp.exp() * logp).sum(-1) * keep());
      EXPECT_TRUE(at::allclose(ours_h, naive_h, 1e-10, 1e-12)) << "hidden, T " << temperature << " " << with_logps;
      EXPECT_TRUE(at::allclose(ours_w, naive_w, 1e-10, 1e-12)) << "lm_head, T " << temperature << " " << with_logps;
    }
  }
}

TEST_F(TokenStats, FrozenHeadGetsNoGradientButHiddenDoes) {
  model_->set_requires_grad(false);
  trl::token_stats(*model_, hidden_, labels_).logps.sum().backward();
  EXPECT_TRUE(hidden_.grad().defined());
  EXPECT_FALSE(model_->lm_head_weight().grad().defined());
}

TEST_F(TokenStats, ExtraStatisticsMatchTheirDefinitions) {
  TokenStatsOptions options;
  options.entropy = options.mean_logit = options.argmax_hit = options.log_sum_p2 = true;
  options.temperature = 0.5;
  options.chunk_rows = 2;
  const trl::TokenStats s = trl::token_stats(*model_, hidden_, labels_, options);
  const at::Tensor raw = naive_logits();
  const at::Tensor tempered = raw / 0.5;
  const at::Tensor logp = tempered.log_softmax(-1), p = logp.exp();
  const at::Tensor k = keep();
  EXPECT_TRUE(at::allclose(s.entropy, -(p * logp).sum(-1) * k, 1e-10, 1e-12));
  EXPECT_TRUE(at::allclose(s.mean_logit, raw.mean(-1) * k, 1e-12, 1e-12));
  EXPECT_TRUE(at::allclose(s.log_sum_p2, (p * p).sum(-1).log() * k, 1e-10, 1e-12));
  EXPECT_TRUE(at::equal(s.argmax_hit, raw.argmax(-1).eq(labels_) & k));
  EXPECT_FALSE(s.entropy.requires_grad());
  EXPECT_TRUE(s.logps.requires_grad());
}

TEST_F(TokenStats, UnrequestedStatisticsAreUndefined) {
  const trl::TokenStats s = trl::token_stats(*model_, hidden_, labels_);
  EXPECT_TRUE(s.logps.defined());
  EXPECT_FALSE(s.entropy.defined());
  EXPECT_FALSE(s.mean_logit.defined());
  EXPECT_FALSE(s.argmax_hit.defined());
  EXPECT_FALSE(s.log_sum_p2.defined());
}

TEST_F(TokenStats, AllIgnoredGivesZerosAndZeroGradient) {
  labels_.fill_(trl::kIgnoreIndex);
  const at::Tensor logps = trl::token_stats(*model_, hidden_, labels_).logps;
  EXPECT_TRUE(at::equal(logps, at::zeros({3, 5}, at::kDouble)));
  logps.sum().backward();
  EXPECT_TRUE(at::equal(hidden_.grad(), at::zeros_like(hidden_)));
}

TEST_F(TokenStats, RefusesLabelOutsideVocabulary) {
  labels_[0][1] = 64;
  try {
    trl::token_stats(*model_, hidden_, labels_);
    FAIL() << "expected a DataError";
  } catch (const trl::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("label id 64 is outside the vocabulary [0, 64)"), std::string::npos) << e.what();
  }
}

TEST_F(TokenStats, RefusesNonPositiveTemperatureAndNegativeChunks) {
  TokenStatsOptions options;
  options.temperature = 0;
  EXPECT_THROW(trl::token_stats(*model_, hidden_, labels_, options), trl::ConfigError);
  options = {};
  options.chunk_rows = -1;
  EXPECT_THROW(trl::token_stats(*model_, hidden_, labels_, options), trl::ConfigError);
  options = {};
  options.keep_probabilities_mb = -1;
  EXPECT_THROW(trl::token_stats(*model_, hidden_, labels_, options), trl::ConfigError);
}

TEST(TokenStatsFloat32, MatchesNaiveOnAModelForward) {
  at::set_num_threads(1);
  auto model = CausalLM::from_config(tiny_model_config("llama"), 3);
  const at::Tensor ids = long_matrix({{4, 9, 16, 25, 36, 49}});
  at::Tensor labels = at::full_like(ids, trl::kIgnoreIndex);
  labels.narrow(1, 2, 4).copy_(ids.narrow(1, 3, 3).repeat({1, 2}).narrow(1, 0, 4));
  const at::Tensor hidden = model->hidden_states(ids);
  const trl::TokenStats s = trl::token_stats(*model, hidden, labels);
  EXPECT_EQ(s.logps.scalar_type(), at::kFloat);
  const at::Tensor keep = labels.ne(trl::kIgnoreIndex);
  const at::Tensor naive = model->logits(hidden).log_softmax(-1).gather(-1, labels.clamp_min(0).unsqueeze(-1)).squeeze(-1) * keep;
  EXPECT_TRUE(at::allclose(s.logps, naive, 1e-5, 1e-5));
}

// The log-probs keep TRL's float32 arithmetic to the bit, z_label - logsumexp(z), although token_stats
// computes logsumexp's steps with z - max written over the logits when no backward pass is to come
// (token_stats.cpp); with one (kept probabilities), the values and the gradient of that arithmetic.
TEST(TokenStatsFloat32, InPlaceLogsumexpIsBitExact) {
  at::set_num_threads(2);
  at::manual_seed(3);
  auto model = CausalLM::from_config(tiny_model_config("qwen2", {{"initializer_range", 2.0}}), 4);
  const int64_t V = model->config().vocab_size;
  const at::Tensor hidden = at::randn({2, 6, model->config().hidden_size});
  const at::Tensor labels = at::randint(0, V, {2, 6}, at::kLong);
  // TRL's selective_log_softmax for float32: gather minus logsumexp over the full logits of each chunk.
  auto expected_logps = [&](const at::Tensor& h) {
    const at::Tensor z = at::mm(h.reshape({12, -1}), model->lm_head_weight().t());
    return (z.gather(1, labels.reshape({12, 1})).squeeze(1) - z.logsumexp(-1)).view({2, 6});
  };
  for (bool grad : {false, true}) {
    TokenStatsOptions options;
    options.chunk_rows = 12;  // one chunk, so the product is the same call as expected_logps'
    const at::Tensor h = hidden.clone().requires_grad_(grad);
    const trl::TokenStats s = trl::token_stats(*model, h, labels, options);
    EXPECT_TRUE(at::equal(s.logps, expected_logps(hidden))) << "grad " << grad;
    if (!grad) continue;
    s.logps.sum().backward();
    const at::Tensor naive_h = hidden.clone().requires_grad_(true);
    expected_logps(naive_h).sum().backward();
    EXPECT_TRUE(at::allclose(h.grad(), naive_h.grad(), 1e-5, 1e-5)) << (h.grad() - naive_h.grad()).abs().max().item<float>() << " of " << naive_h.grad().abs().max().item<float>();
  }
  TokenStatsOptions chunked;
  chunked.chunk_rows = 5;  // chunks of 5, 5 and 2 rows give the same values as one chunk to rounding
  EXPECT_TRUE(at::allclose(trl::token_stats(*model, hidden, labels, chunked).logps, expected_logps(hidden), 1e-6, 1e-6));
}

// bf16: true: under autocast the lm_head's products run in bfloat16, forward and backward, as torch.autocast
// runs them (a bf16 mm, and its MmBackward in bf16 with the gradient cast back to float32): equal to autograd
// through that explicit computation, for both ways of the backward pass, and visibly not the float32 result.
TEST(TokenStatsAutocast, LmHeadProductsRunInBfloat16LikeAutocast) {
  at::set_num_threads(1);
  at::manual_seed(0);
  auto model = CausalLM::from_config(tiny_model_config("qwen2", {{"initializer_range", 1.0}}), 2);
  const at::Tensor hidden = at::randn({2, 6, 32}).requires_grad_(true);  // (B, T, H) float32
  at::Tensor labels = at::randint(0, 64, {2, 6}, at::kLong);
  labels[0][0] = trl::kIgnoreIndex;
  const at::Tensor weights = at::randn({2, 6});
  const at::Tensor& head = model->lm_head_weight();
  auto grads_of = [&](const at::Tensor& logps) {
    hidden.mutable_grad() = at::Tensor();
    head.mutable_grad() = at::Tensor();
    (logps * weights).sum().backward();
    return std::make_tuple(logps.detach(), hidden.grad().clone(), head.grad().clone());
  };
  const at::Tensor keep = labels.ne(trl::kIgnoreIndex);
  const at::Tensor logits_bf16 = at::matmul(hidden.to(at::kBFloat16), head.to(at::kBFloat16).t()).to(at::kFloat);
  const auto [ref_logps, ref_h, ref_w] =
      grads_of(logits_bf16.log_softmax(-1).gather(-1, labels.clamp_min(0).unsqueeze(-1)).squeeze(-1) * keep);
  const auto [f32_logps, f32_h, f32_w] = grads_of(trl::token_stats(*model, hidden, labels).logps);
  at::Tensor recomputed_logps;  // keep_mb 0: the logits of one product per chunk, as the reference's
  for (int64_t keep_mb : {0, 256}) {  // recomputed in the backward pass, or probabilities kept
    TokenStatsOptions options;
    options.chunk_rows = 5;
    options.keep_probabilities_mb = keep_mb;
    at::Tensor logps;
    {
      const trl::AutocastScope autocast(at::kCPU, true, at::kBFloat16);
      logps = trl::token_stats(*model, hidden, labels, options).logps;
    }
    EXPECT_EQ(logps.scalar_type(), at::kFloat);
    // Kept probabilities come from one product over all rows: the same log-probs to the bit as the chunks'
    // (a DPO policy and its identical reference must give the loss ln 2 at the first step).
    if (keep_mb == 0) recomputed_logps = logps.detach().clone();
    if (keep_mb > 0) EXPECT_TRUE(at::equal(logps.detach(), recomputed_logps));
    const auto [ours_logps, ours_h, ours_w] = grads_of(logps);  // the backward pass outside autocast, as in training
    EXPECT_EQ(ours_h.scalar_type(), at::kFloat);
    EXPECT_EQ(ours_w.scalar_type(), at::kFloat);
    EXPECT_TRUE(at::allclose(ours_logps, ref_logps, 1e-5, 1e-5)) << "keep " << keep_mb;
    EXPECT_TRUE(at::allclose(ours_h, ref_h, 2e-2, 2e-2)) << "keep " << keep_mb << ": " << (ours_h - ref_h).abs().max();
    EXPECT_TRUE(at::allclose(ours_w, ref_w, 2e-2, 2e-2)) << "keep " << keep_mb << ": " << (ours_w - ref_w).abs().max();
    // bfloat16 keeps 8 bits of mantissa: the log-probs differ from float32's well beyond float32 rounding.
    EXPECT_GT((ours_logps - f32_logps).abs().max().item<double>(), 1e-4) << "keep " << keep_mb;
    // The kept probabilities' bfloat16 gradient in one pass (logp_gradient_kernel.h) gives the ops' values.
    const trl::ScopedGenericKernels ops;
    at::Tensor ops_logps;
    {
      const trl::AutocastScope autocast(at::kCPU, true, at::kBFloat16);
      ops_logps = trl::token_stats(*model, hidden, labels, options).logps;
    }
    const auto [same_logps, same_h, same_w] = grads_of(ops_logps);
    EXPECT_TRUE(at::equal(same_logps, ours_logps) && at::equal(same_h, ours_h) && at::equal(same_w, ours_w))
        << "keep " << keep_mb;
  }
}

}  // namespace
