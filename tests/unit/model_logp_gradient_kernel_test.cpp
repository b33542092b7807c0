// token_stats' bfloat16 log-prob gradient in one pass (logp_gradient_bf16) against the ops it replaces under
// bf16 autocast: g·(onehot(label) − p) in float32, then the conversion to bfloat16, to the bit.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "model/logp_gradient_kernel.h"
#include "model_test_support.h"

namespace {

class LogpGradientKernel : public trl::testing_support::TwoThreadsTest {
 protected:
  LogpGradientKernel() : TwoThreadsTest(13) {}
};

/// The ops of token_stats' kept-probabilities backward pass (temperature 1), on a copy of p.
at::Tensor ops(const at::Tensor& probs, const at::Tensor& g, const at::Tensor& labels) {
  const at::Tensor g_rows = g.unsqueeze(1);
  return probs.clone().mul_(-g_rows).scatter_add_(1, labels.unsqueeze(1), g_rows).to(at::kBFloat16);
}

/// Probabilities over a vocabulary of V for N rows, gradients of both signs (and one zero), labels in [0, V).
struct Inputs {
  at::Tensor probs, g, labels;
};

Inputs inputs(int64_t N, int64_t V) {
  Inputs in;
  in.probs = (at::randn({N, V}) * 4).softmax(-1);
  in.g = at::randn({N}) * 3;
  in.g[1] = 0;
  in.labels = at::randint(0, V, {N}, at::kLong);
  in.labels[0] = V - 1;
  return in;
}

TEST_F(LogpGradientKernel, IsTheOpsToTheBit) {
  for (const auto& [N, V] : {std::pair<int64_t, int64_t>{37, 1000}, {8, 32000}}) {
    const Inputs in = inputs(N, V);
    const at::Tensor before = in.probs.clone();
    ASSERT_TRUE(trl::use_logp_gradient_kernel(in.probs, in.g, in.labels));
    const at::Tensor ours = trl::logp_gradient_bf16(in.probs, in.g, in.labels);
    EXPECT_EQ(ours.scalar_type(), at::kBFloat16);
    EXPECT_TRUE(at::equal(ours, ops(in.probs, in.g, in.labels))) << N << " x " << V;
    EXPECT_TRUE(at::equal(in.probs, before));  // p is left as it was
  }
}

// Rounding ties go to even, as c10::BFloat16 rounds: values exactly halfway between two bfloat16 values.
TEST_F(LogpGradientKernel, RoundsTiesToEven) {
  const at::Tensor probs = at::tensor({1.0f + 1.0f / 256, 1.0f + 3.0f / 256, 0.5f, 1e-30f}).view({1, 4});
  const at::Tensor g = at::tensor({-1.0f}), labels = at::tensor({int64_t{2}});
  EXPECT_TRUE(at::equal(trl::logp_gradient_bf16(probs, g, labels), ops(probs, g, labels)));
}

TEST_F(LogpGradientKernel, SameOnOneAndTwoThreads) {
  const Inputs in = inputs(64, 4096);
  const at::Tensor two = trl::logp_gradient_bf16(in.probs, in.g, in.labels);
  at::set_num_threads(1);
  EXPECT_TRUE(at::equal(two, trl::logp_gradient_bf16(in.probs, in.g, in.labels)));
}

TEST_F(LogpGradientKernel, OpsKeptWhereTheKernelDoesNotApply) {
  const Inputs in = inputs(6, 10);
  EXPECT_FALSE(trl::use_logp_gradient_kernel(in.probs.t().contiguous().t(), in.g, in.labels));  // not row-major
  EXPECT_FALSE(trl::use_logp_gradient_kernel(in.probs.to(at::kDouble), in.g, in.labels));
  EXPECT_FALSE(trl::use_logp_gradient_kernel(in.probs, in.g.to(at::kDouble), in.labels));
  EXPECT_FALSE(trl::use_logp_gradient_kernel(in.probs, in.g, in.labels.to(at::kInt)));
  EXPECT_FALSE(trl::use_logp_gradient_kernel(in.probs, in.g.narrow(0, 0, 5), in.labels));
}

}  // namespace
