// grouped_attention against transformers' eager attention written out with repeat_kv: the sliced
// float32 path (sliced_attention.cpp) and the batched path, forward and gradients, on two threads.
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <torch/csrc/api/include/torch/version.h>

#include "core/kernel_dispatch.h"
#include "model/causal_lm_impl.h"
#include "model_test_support.h"
#include "train/autocast_scope.h"

namespace {

/// transformers' eager_attention_forward: repeat_kv, scaled scores + mask, float32 softmax, then the
/// values; returns (B, T, Nq·D).
at::Tensor eager_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask) {
  const int64_t B = q.size(0), Nq = q.size(1), T = q.size(2), D = q.size(3), G = Nq / k.size(1);
  const at::Tensor keys = k.repeat_interleave(G, 1), values = v.repeat_interleave(G, 1);
  const at::Tensor scores = at::matmul(q, keys.transpose(2, 3)) * std::pow(static_cast<double>(D), -0.5) + mask;
  const at::Tensor probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
  return at::matmul(probs, values).transpose(1, 2).reshape({B, T, Nq * D});
}

/// Runs on two intra-op threads (the sliced path spreads its slices over them) and restores the count.
class AttentionTest : public trl::testing_support::TwoThreadsTest {
 protected:
  AttentionTest() : TwoThreadsTest(7) {}

  /// Compares grouped_attention with eager_attention, outputs and the gradients of q, k and v.
  static void expect_same_as_eager(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                   const at::Tensor& mask, double tolerance) {
    const at::Tensor q1 = q.clone().requires_grad_(), k1 = k.clone().requires_grad_(), v1 = v.clone().requires_grad_();
    const at::Tensor q2 = q.clone().requires_grad_(), k2 = k.clone().requires_grad_(), v2 = v.clone().requires_grad_();
    const at::Tensor ours = trl::grouped_attention(q1, k1, v1, mask);
    const at::Tensor theirs = eager_attention(q2, k2, v2, mask);
    ASSERT_EQ(ours.sizes(), theirs.sizes());
    EXPECT_TRUE(at::allclose(ours, theirs, tolerance, tolerance)) << (ours - theirs).abs().max().item<double>();

    const at::Tensor weights = at::randn(ours.sizes(), ours.options());  // a loss that weighs every output
    (ours * weights).sum().backward();
    (theirs * weights).sum().backward();
    EXPECT_TRUE(at::allclose(q1.grad(), q2.grad(), tolerance, tolerance)) << "dq";
    EXPECT_TRUE(at::allclose(k1.grad(), k2.grad(), tolerance, tolerance)) << "dk";
    EXPECT_TRUE(at::allclose(v1.grad(), v2.grad(), tolerance, tolerance)) << "dv";
  }
};

/// Key mask (B, L) with left padding of `pad[b]` positions in row b.
at::Tensor left_padded(int64_t B, int64_t L, std::initializer_list<int64_t> pad) {
  at::Tensor mask = at::ones({B, L}, at::kBool);
  int64_t b = 0;
  for (int64_t p : pad) mask[b++].narrow(0, 0, p).fill_(false);
  return mask;
}

TEST_F(AttentionTest, SlicedPathMatchesEagerWithGroupsAndPadding) {
  const int64_t B = 3, Nq = 4, Nkv = 2, T = 64, D = 16;  // G·T·L = 8192 scores per slice: sliced
  const at::Tensor q = at::randn({B, Nq, T, D}), k = at::randn({B, Nkv, T, D}), v = at::randn({B, Nkv, T, D});
  const at::Tensor mask = trl::attention_bias_mask(left_padded(B, T, {0, 5, 63}), 0, T, at::kFloat);
  expect_same_as_eager(q, k, v, mask, 1e-5);
}

// The device-generic path a CUDA tensor takes (core/kernel_dispatch.h), forced on the CPU at a size where
// float32 would go per slice: the same outputs and gradients as eager attention.
TEST_F(AttentionTest, GenericPathMatchesEagerWhereSlicedWouldRun) {
  const trl::ScopedGenericKernels generic;
  ASSERT_FALSE(trl::use_cpu_kernels(c10::Device(c10::kCPU)));
  const int64_t B = 3, Nq = 4, Nkv = 2, T = 64, D = 16;
  const at::Tensor q = at::randn({B, Nq, T, D}), k = at::randn({B, Nkv, T, D}), v = at::randn({B, Nkv, T, D});
  const at::Tensor mask = trl::attention_bias_mask(left_padded(B, T, {0, 5, 63}), 0, T, at::kFloat);
  expect_same_as_eager(q, k, v, mask, 1e-5);
}

// Under bf16 autocast (bf16: true) float32 q, k, v at a size where the sliced path would run take the batched
// path (1.13), which autocast computes in bfloat16, or the fused kernel in float32 (2.x, the test below): the
// eager attention under the same autocast, to bfloat16's precision.
TEST_F(AttentionTest, UnderAutocastTakesTheBatchedPath) {
  const int64_t B = 2, Nq = 4, Nkv = 2, T = 64, D = 16;
  const at::Tensor q = at::randn({B, Nq, T, D}), k = at::randn({B, Nkv, T, D}), v = at::randn({B, Nkv, T, D});
  const at::Tensor mask = trl::attention_bias_mask(left_padded(B, T, {0, 9}), 0, T, at::kFloat);
  const trl::AutocastScope bf16(c10::Device(c10::kCPU), true);
  const at::Tensor ours = trl::grouped_attention(q, k, v, mask);
  const at::Tensor theirs = eager_attention(q, k, v, mask);
  EXPECT_TRUE(at::allclose(ours.to(at::kFloat), theirs.to(at::kFloat), 2e-2, 2e-2))
      << (ours.to(at::kFloat) - theirs.to(at::kFloat)).abs().max().item<double>();
}

// LibTorch 2.x builds take the fused scaled_dot_product_attention (flash attention on the CPU, grouped heads
// and the padding mask included); 1.13 has none worth taking. The tests above then check that kernel against
// eager attention in the 2.x build, and the per-slice kernel in the 1.13 build.
TEST_F(AttentionTest, FusedKernelExactlyWhereLibTorchHasOne) {
  EXPECT_EQ(trl::use_fused_attention(), TORCH_VERSION_MAJOR >= 2);
  if (!trl::use_fused_attention()) return;
  const int64_t B = 2, Nq = 4, Nkv = 2, T = 64, D = 16;
  const at::Tensor q = at::randn({B, Nq, T, D}), k = at::randn({B, Nkv, T, D}), v = at::randn({B, Nkv, T, D});
  const at::Tensor mask = trl::attention_bias_mask(left_padded(B, T, {0, 9}), 0, T, at::kFloat);
  const at::Tensor fused = trl::fused_attention(q, k, v, mask).transpose(1, 2).reshape({B, T, Nq * D});
  EXPECT_TRUE(at::equal(trl::grouped_attention(q, k, v, mask), fused));
}

// 2.x under CPU autocast: the fused kernel runs in float32 on the model's q and k (float32 after RoPE) and its
// bfloat16 v widened, exactly the kernel outside autocast on those inputs, and v's gradient comes back in
// bfloat16 (causal_lm_attention.cpp: LibTorch's bfloat16 backward is the slower one on the CPU).
TEST_F(AttentionTest, FusedKernelRunsInFloat32UnderCpuAutocast) {
  if (!trl::use_fused_attention()) return;
  const int64_t B = 2, Nq = 4, Nkv = 2, T = 64, D = 16;
  const at::Tensor q = at::randn({B, Nq, T, D}).requires_grad_(), k = at::randn({B, Nkv, T, D}).requires_grad_();
  const at::Tensor v = at::randn({B, Nkv, T, D}).to(at::kBFloat16).requires_grad_();
  const at::Tensor mask = trl::attention_bias_mask(left_padded(B, T, {0, 9}), 0, T, at::kFloat);
  at::Tensor ours;
  {
    const trl::AutocastScope bf16(c10::Device(c10::kCPU), true);
    ours = trl::grouped_attention(q, k, v, mask);
  }
  EXPECT_EQ(ours.scalar_type(), at::kFloat);
  const at::Tensor fused = trl::fused_attention(q, k, v.to(at::kFloat), mask).transpose(1, 2).reshape({B, T, Nq * D});
  EXPECT_TRUE(at::equal(ours, fused));
  ours.sum().backward();
  EXPECT_EQ(v.grad().scalar_type(), at::kBFloat16);
  EXPECT_EQ(q.grad().scalar_type(), at::kFloat);
}

TEST_F(AttentionTest, SlicedPathMatchesEagerAfterCachedPositions) {
  // 40 new queries after 60 cached positions, as a prefill continued from a KV cache.
  const int64_t B = 2, Nq = 2, Nkv = 1, T = 40, L = 100, D = 8;
  const at::Tensor q = at::randn({B, Nq, T, D}), k = at::randn({B, Nkv, L, D}), v = at::randn({B, Nkv, L, D});
  const at::Tensor mask = trl::attention_bias_mask(left_padded(B, L, {0, 30}), L - T, T, at::kFloat);
  expect_same_as_eager(q, k, v, mask, 1e-5);
}

TEST_F(AttentionTest, BatchedPathMatchesEagerForDecodeAndFloat64) {
  const int64_t B = 2, Nq = 4, Nkv = 2, L = 9, D = 8;
  const at::Tensor key_mask = left_padded(B, L, {0, 3});
  // One query per head (a decode step): under the sliced path's threshold.
  expect_same_as_eager(at::randn({B, Nq, 1, D}), at::randn({B, Nkv, L, D}), at::randn({B, Nkv, L, D}),
                       trl::attention_bias_mask(key_mask, L - 1, 1, at::kFloat), 1e-5);
  // float64 keeps transformers' float32 softmax on the batched path.
  const int64_t T = 64;
  expect_same_as_eager(at::randn({B, Nq, T, D}, at::kDouble), at::randn({B, Nkv, T, D}, at::kDouble),
                       at::randn({B, Nkv, T, D}, at::kDouble),
                       trl::attention_bias_mask(left_padded(B, T, {0, 3}), 0, T, at::kDouble), 1e-12);
}

TEST_F(AttentionTest, SlicedPathWithoutGradientGivesTheSameOutput) {
  const int64_t B = 2, Nq = 4, Nkv = 2, T = 64, D = 16;
  const at::Tensor q = at::randn({B, Nq, T, D}), k = at::randn({B, Nkv, T, D}), v = at::randn({B, Nkv, T, D});
  const at::Tensor mask = trl::attention_bias_mask(left_padded(B, T, {0, 7}), 0, T, at::kFloat);
  const at::Tensor with_graph = trl::grouped_attention(q.clone().requires_grad_(), k, v, mask);
  EXPECT_TRUE(with_graph.requires_grad());
  at::Tensor no_grad, inference;
  {
    const at::NoGradGuard guard;
    no_grad = trl::grouped_attention(q.clone().requires_grad_(), k, v, mask);
  }
  {
    const c10::InferenceMode guard;  // generate()'s mode: the workers must take it too
    inference = trl::grouped_attention(q, k, v, mask);
  }
  EXPECT_FALSE(no_grad.requires_grad());
  EXPECT_TRUE(at::equal(with_graph.detach(), no_grad));
  EXPECT_TRUE(at::equal(no_grad, inference));
}

// The slices run on ATen's intra-op threads (sliced_attention.cpp is compiled with OpenMP): each slice is
// computed whole by one thread with OpenBLAS on one thread, so outputs and gradients are the same to the bit
// on one thread and on two. Called directly so that the LibTorch 2.x build, whose grouped_attention takes the
// fused kernel, checks it too.
TEST_F(AttentionTest, SlicedAttentionIsTheSameOnOneAndTwoThreads) {
  const int64_t B = 3, H = 2, GT = 128, L = 64, D = 16;
  const at::Tensor q = at::randn({B, H, GT, D}), k = at::randn({B, H, L, D}), v = at::randn({B, H, L, D});
  const at::Tensor mask = trl::attention_bias_mask(left_padded(B, L, {0, 5, 63}), 0, L, at::kFloat);
  const at::Tensor weights = at::randn({B, H, GT, D});
  auto run = [&](int threads) {
    at::set_num_threads(threads);
    const at::Tensor q1 = q.clone().requires_grad_(), k1 = k.clone().requires_grad_(), v1 = v.clone().requires_grad_();
    const at::Tensor out = trl::sliced_attention(q1, k1, v1, mask);
    (out * weights).sum().backward();
    return std::vector<at::Tensor>{out.detach(), q1.grad(), k1.grad(), v1.grad()};
  };
  const std::vector<at::Tensor> one = run(1), two = run(2);
  const char* names[] = {"output", "dq", "dk", "dv"};
  for (size_t i = 0; i < one.size(); ++i) EXPECT_TRUE(at::equal(one[i], two[i])) << names[i];
}

}  // namespace
