// The forward pass's one-node RMSNorm (rms_norm through rms_norm_kernel) against transformers' decomposed ops
// (what ScopedGenericKernels selects on the CPU) and against the same ops in float64: the kernel's output and
// gradients are the ops' up to the rounding of its sums, which is no larger than the ops' own (rms_norm_kernel.h).
#include <array>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include "core/kernel_dispatch.h"
#include "model/causal_lm_impl.h"
#include "model/rms_norm_kernel.h"
#include "model_test_support.h"

namespace {

constexpr double kEps = 1e-6;

class RmsNormKernel : public trl::testing_support::TwoThreadsTest {
 protected:
  RmsNormKernel() : TwoThreadsTest(11) {}
};

/// Output and the gradients for x and the weight (undefined where they need none) for the output gradient g.
struct Pass {
  at::Tensor out, dx, dw;
};

Pass run(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& g) {
  x.mutable_grad() = at::Tensor();
  weight.mutable_grad() = at::Tensor();
  Pass pass;
  pass.out = trl::rms_norm(x, weight, kEps);
  pass.out.backward(g);
  if (x.requires_grad()) pass.dx = x.grad().clone();
  if (weight.requires_grad()) pass.dw = weight.grad().clone();
  return pass;
}

/// The same computation in float64: the values both float32 paths approximate.
Pass truth(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& g) {
  const at::Tensor xd = x.detach().to(at::kDouble).requires_grad_();
  const at::Tensor wd = weight.detach().to(at::kDouble).requires_grad_();
  return run(xd, wd, g.to(at::kDouble));
}

/// Largest difference relative to the largest magnitude of `expected`.
double relative_error(const at::Tensor& actual, const at::Tensor& expected) {
  return (actual.to(at::kDouble) - expected).abs().max().item<double>() / expected.abs().max().item<double>();
}

void expect_bit_equal(const Pass& a, const Pass& b) {
  EXPECT_TRUE(at::equal(a.out, b.out));
  EXPECT_TRUE(a.dx.defined() == b.dx.defined() && (!a.dx.defined() || at::equal(a.dx, b.dx)));
  EXPECT_TRUE(a.dw.defined() == b.dw.defined() && (!a.dw.defined() || at::equal(a.dw, b.dw)));
}

TEST_F(RmsNormKernel, IsTheOpsUpToTheRoundingOfTheSums) {
  // The bench's large hidden states (rows of 512) and a Qwen3 per-head norm (rows of 64 under a (D) weight).
  for (const std::vector<int64_t>& shape : {std::vector<int64_t>{4, 96, 512}, std::vector<int64_t>{2, 40, 8, 64}}) {
    const int64_t H = shape.back();
    const at::Tensor x = at::randn(shape).mul_(3).add_(0.5).requires_grad_();
    const at::Tensor weight = at::randn({H}).mul_(0.2).add_(1).requires_grad_();
    const at::Tensor g = at::randn(shape);
    ASSERT_TRUE(trl::use_rms_norm_kernel(x, weight));
    const Pass ours = run(x, weight, g);
    const Pass expected = truth(x, weight, g);
    Pass ops;
    {
      trl::ScopedGenericKernels generic;
      ASSERT_FALSE(trl::use_rms_norm_kernel(x, weight));
      ops = run(x, weight, g);
    }
    const std::pair<const char*, std::array<at::Tensor, 3>> quantities[] = {
        {"output", {ours.out, ops.out, expected.out}},
        {"x gradient", {ours.dx, ops.dx, expected.dx}},
        {"weight gradient", {ours.dw, ops.dw, expected.dw}}};
    for (const auto& [name, t] : quantities) {
      const double kernel = relative_error(t[0], t[2]), generic = relative_error(t[1], t[2]);
      // float32 rounding, not a wrong formula (which would be off by far more than 1e-6)...
      EXPECT_LT(kernel, 1e-6) << name << " H=" << H;
      // ... and no worse than the ops' own rounding (the margin covers a sum rounded the other way).
      EXPECT_LE(kernel, 2 * generic + 1e-7) << name << " H=" << H << ": ops " << generic;
      // Element for element (the weight's gradient sums cancel: absolute to its largest element).
      EXPECT_TRUE(at::allclose(t[0], t[1], 1e-5, 1e-6 * t[1].abs().max().item<double>())) << name << " H=" << H;
    }
    // Each output element is the ops' product of the same float32 factors: the two paths differ only where
    // the row's sum of squares rounded differently, which leaves most elements bit-equal.
    EXPECT_GT(ours.out.eq(ops.out).to(at::kDouble).mean().item<double>(), 0.5) << "H=" << H;
  }
}

TEST_F(RmsNormKernel, SameOnOneAndTwoThreads) {
  const at::Tensor x = at::randn({8, 300, 512}).requires_grad_();
  const at::Tensor weight = at::randn({512}).requires_grad_();
  const at::Tensor g = at::randn({8, 300, 512});
  const Pass two = run(x, weight, g);
  at::set_num_threads(1);
  expect_bit_equal(two, run(x, weight, g));
}

TEST_F(RmsNormKernel, GradientsOnlyWhereNeeded) {
  const at::Tensor x = at::randn({3, 50, 64}).requires_grad_();
  const at::Tensor weight = at::randn({64}).requires_grad_();
  const at::Tensor g = at::randn({3, 50, 64});
  const Pass both = run(x, weight, g);
  // A frozen weight (LoRA): the same x gradient, none for the weight.
  const at::Tensor frozen = weight.detach();
  const Pass x_only = run(x, frozen, g);
  EXPECT_TRUE(at::equal(x_only.out, both.out));
  EXPECT_TRUE(at::equal(x_only.dx, both.dx));
  EXPECT_FALSE(frozen.grad().defined());
  // A constant input: the same weight gradient.
  const Pass w_only = run(x.detach(), weight, g);
  EXPECT_TRUE(at::equal(w_only.dw, both.dw));
}

TEST_F(RmsNormKernel, NoGraphWithoutGrad) {
  const at::Tensor x = at::randn({2, 7, 32}).requires_grad_();
  const at::Tensor weight = at::randn({32}).requires_grad_();
  const at::Tensor with_graph = trl::rms_norm(x, weight, kEps);
  EXPECT_TRUE(with_graph.requires_grad());
  c10::InferenceMode inference;
  const at::Tensor without = trl::rms_norm(x, weight, kEps);
  EXPECT_FALSE(without.requires_grad());
  EXPECT_TRUE(at::equal(without, with_graph.detach()));
}

TEST_F(RmsNormKernel, OpsKeptWhereTheKernelDoesNotApply) {
  const at::Tensor x = at::randn({2, 3, 8});
  const at::Tensor weight = at::randn({8});
  EXPECT_TRUE(trl::use_rms_norm_kernel(x, weight));
  EXPECT_FALSE(trl::use_rms_norm_kernel(x.to(at::kDouble), weight.to(at::kDouble)));
  EXPECT_FALSE(trl::use_rms_norm_kernel(x.to(at::kBFloat16), weight));
  EXPECT_FALSE(trl::use_rms_norm_kernel(x.transpose(0, 1), weight));  // not contiguous
  EXPECT_FALSE(trl::use_rms_norm_kernel(x, at::randn({16}).narrow(0, 0, 8).unsqueeze(0)));  // not (H)
  // Where the kernel does not apply, rms_norm still computes w · x / sqrt(mean(x²) + eps).
  const at::Tensor xd = x.to(at::kDouble), wd = weight.to(at::kDouble);
  const at::Tensor expected = wd * xd / (xd.pow(2).mean(-1, true) + kEps).sqrt();
  EXPECT_TRUE(at::allclose(trl::rms_norm(xd, wd, kEps), expected));
  EXPECT_TRUE(at::allclose(trl::rms_norm(x.transpose(0, 1), weight, kEps).to(at::kDouble),
                           expected.transpose(0, 1), 1e-5, 1e-6));
}

}  // namespace
