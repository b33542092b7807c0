// The forward pass's one-node replacement of transformers' decomposed rotary embedding (apply_rope through
// rope_kernel) against those ops, forward and backward, to the bit: `make parity` compares trl-host's training
// with TRL's, and a last-bit change there grows over the steps. The generic ops are what ScopedGenericKernels
// selects on the CPU.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include "core/kernel_dispatch.h"
#include "model/causal_lm_impl.h"
#include "model/rope_kernel.h"
#include "model_test_support.h"

namespace {

class RopeKernel : public trl::testing_support::TwoThreadsTest {
 protected:
  RopeKernel() : TwoThreadsTest(5) {}
};

/// Output and the gradients of `inputs` for the output gradient `grad` (in the layout autograd would hand
/// over: a transposed view, as after `.transpose(1, 2)` into attention).
struct Pass {
  at::Tensor out;
  std::vector<at::Tensor> grads;
};

template <class F>
Pass run(F f, const std::vector<at::Tensor>& inputs, const at::Tensor& grad) {
  for (const at::Tensor& t : inputs) t.mutable_grad() = at::Tensor();
  Pass pass;
  pass.out = f();
  pass.out.backward(grad);
  for (const at::Tensor& t : inputs) pass.grads.push_back(t.grad().clone());
  return pass;
}

void expect_bit_equal(const Pass& ours, const Pass& ops) {
  EXPECT_TRUE(at::equal(ours.out, ops.out)) << (ours.out - ops.out).abs().max().item<double>();
  ASSERT_EQ(ours.grads.size(), ops.grads.size());
  for (size_t i = 0; i < ours.grads.size(); ++i)
    EXPECT_TRUE(at::equal(ours.grads[i], ops.grads[i]))
        << "gradient " << i << ": " << (ours.grads[i] - ops.grads[i]).abs().max().item<double>();
}

/// (B, T, 1, D) cos and sin as rope_cos_sin makes them, over wide angles.
std::pair<at::Tensor, at::Tensor> angles(int64_t B, int64_t T, int64_t D) {
  const at::Tensor a = at::rand({B, T, 1, D}) * 300;
  return {a.cos(), a.sin()};
}

TEST_F(RopeKernel, IsTheOpsToTheBit) {
  const auto [cos, sin] = angles(4, 96, 64);
  for (const int64_t heads : {8, 4}) {  // the bench's large q and k
    // A view of a projection's output, as self_attention hands it over.
    const at::Tensor x = at::randn({4, 96, heads * 64}).mul_(3).requires_grad_();
    const at::Tensor grad = at::randn({4, heads, 96, 64}).transpose(1, 2);  // non-contiguous, as from attention
    auto rope = [&] { return trl::apply_rope(x.view({4, 96, heads, 64}), cos, sin); };
    ASSERT_TRUE(trl::use_rope_kernel(x.view({4, 96, heads, 64}), cos, sin));
    const Pass ours = run(rope, {x}, grad);
    trl::ScopedGenericKernels generic;
    ASSERT_FALSE(trl::use_rope_kernel(x.view({4, 96, heads, 64}), cos, sin));
    expect_bit_equal(ours, run(rope, {x}, grad));
  }
}

// Under bf16 autocast: a bfloat16 projection against float32 angles, the ops promoting the products to float32
// and autograd rounding each product's gradient to bfloat16 before the sum.
TEST_F(RopeKernel, IsTheOpsToTheBitForAutocastProjections) {
  const auto [cos, sin] = angles(4, 96, 64);
  const at::Tensor x = at::randn({4, 96, 8 * 64}).mul_(3).to(at::kBFloat16).requires_grad_();
  const at::Tensor grad = at::randn({4, 8, 96, 64}).transpose(1, 2);
  auto rope = [&] { return trl::apply_rope(x.view({4, 96, 8, 64}), cos, sin); };
  ASSERT_TRUE(trl::use_rope_kernel(x.view({4, 96, 8, 64}), cos, sin));
  const Pass ours = run(rope, {x}, grad);
  EXPECT_EQ(ours.out.scalar_type(), at::kFloat);
  EXPECT_EQ(ours.grads[0].scalar_type(), at::kBFloat16);
  trl::ScopedGenericKernels generic;
  expect_bit_equal(ours, run(rope, {x}, grad));
}

TEST_F(RopeKernel, IsTheOpsAtADecodeStep) {
  c10::InferenceMode inference;
  const at::Tensor x = at::randn({8, 1, 8, 64});
  const auto [cos, sin] = angles(8, 1, 64);
  const at::Tensor ours = trl::apply_rope(x, cos, sin);
  trl::ScopedGenericKernels generic;
  EXPECT_TRUE(at::equal(ours, trl::apply_rope(x, cos, sin)));
}

TEST_F(RopeKernel, SameOnOneAndTwoThreads) {
  const at::Tensor x = at::randn({4, 200, 8, 64}).requires_grad_();
  const auto [cos, sin] = angles(4, 200, 64);
  const at::Tensor grad = at::randn({4, 200, 8, 64});
  const Pass two = run([&] { return trl::rope_kernel(x, cos, sin); }, {x}, grad);
  at::set_num_threads(1);
  expect_bit_equal(two, run([&] { return trl::rope_kernel(x, cos, sin); }, {x}, grad));
}

TEST_F(RopeKernel, OpsKeptWhereTheKernelDoesNotApply) {
  const auto [cos, sin] = angles(2, 3, 8);
  const at::Tensor x = at::randn({2, 3, 4, 8});
  EXPECT_TRUE(trl::use_rope_kernel(x, cos, sin));
  EXPECT_FALSE(trl::use_rope_kernel(x.to(at::kDouble), cos.to(at::kDouble), sin.to(at::kDouble)));
  EXPECT_TRUE(trl::use_rope_kernel(x.to(at::kBFloat16), cos, sin));  // autocast's projections
  // A bfloat16 model's angles are bfloat16 too: its ops stay.
  EXPECT_FALSE(trl::use_rope_kernel(x.to(at::kBFloat16), cos.to(at::kBFloat16), sin.to(at::kBFloat16)));
  EXPECT_FALSE(trl::use_rope_kernel(x, cos.requires_grad_(), sin));     // a gradient for the angles
  EXPECT_FALSE(trl::use_rope_kernel(x, cos.detach().expand({2, 3, 4, 8}), sin));  // not (B, T, 1, D)
  EXPECT_FALSE(trl::use_rope_kernel(at::randn({2, 3, 4, 7}), at::ones({2, 3, 1, 7}), at::ones({2, 3, 1, 7})));
  // Where the kernel does not apply, apply_rope still computes x·cos + rotate_half(x)·sin.
  const at::Tensor xd = x.to(at::kDouble), cd = cos.detach().to(at::kDouble), sd = sin.to(at::kDouble);
  const at::Tensor expected = xd * cd + at::cat({-xd.narrow(-1, 4, 4), xd.narrow(-1, 0, 4)}, -1) * sd;
  EXPECT_TRUE(at::allclose(trl::apply_rope(xd, cd, sd), expected));
}

}  // namespace
