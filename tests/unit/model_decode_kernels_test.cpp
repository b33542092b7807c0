// The decode step's CPU kernels (sdk/src/model/decode_kernels.cpp) against the LibTorch ops they replace, at the
// bench's large-preset shapes on two threads (the attention spreads its slices over them), with masked keys;
// and when the forward pass takes them. ModelForward.CachedDecodingEqualsFullForward covers them inside a model.
#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include "core/kernel_dispatch.h"
#include "model/causal_lm_impl.h"
#include "model/decode_kernels.h"
#include "model_test_support.h"

namespace {

class DecodeKernels : public trl::testing_support::TwoThreadsTest {
 protected:
  DecodeKernels() : TwoThreadsTest(11) {}

  static void expect_close(const at::Tensor& ours, const at::Tensor& theirs, double tolerance) {
    ASSERT_EQ(ours.sizes(), theirs.sizes());
    EXPECT_TRUE(at::allclose(ours, theirs, tolerance, tolerance)) << (ours - theirs).abs().max().item<double>();
  }
};

TEST_F(DecodeKernels, RmsNormEqualsTheOps) {
  c10::InferenceMode inference;
  const at::Tensor x = at::randn({8, 1, 512}) * 3;
  const at::Tensor weight = at::randn({512});
  expect_close(trl::decode_rms_norm(x, weight, 1e-6), trl::rms_norm(x, weight, 1e-6), 1e-6);
  const at::Tensor heads = at::randn({16, 1, 8, 64});  // Qwen3's per-head norm
  expect_close(trl::decode_rms_norm(heads, weight.narrow(0, 0, 64), 1e-6),
               trl::rms_norm(heads, weight.narrow(0, 0, 64), 1e-6), 1e-6);
  EXPECT_THROW(trl::decode_rms_norm(x, weight.narrow(0, 0, 64), 1e-6), c10::Error);
}

TEST_F(DecodeKernels, SwigluEqualsTheOps) {
  c10::InferenceMode inference;
  const at::Tensor gate = at::randn({16, 1, 1376}) * 4, up = at::randn({16, 1, 1376});
  expect_close(trl::decode_swiglu(gate, up), at::silu(gate) * up, 1e-6);
}

// One query per row against a cache of 150 of 192 positions, 8 query / 4 key-value heads: the keys and values
// are views with the cache's strides, and rows mask different keys (left padding) as the forward's mask does.
TEST_F(DecodeKernels, AttentionEqualsTheBatchedOps) {
  c10::InferenceMode inference;
  const int64_t B = 8, Nq = 8, Nkv = 4, M = 192, L = 150, D = 64;
  const at::Tensor q = at::randn({B, 1, Nq, D}).transpose(1, 2);  // (B, Nq, 1, D) as the forward passes it
  const at::Tensor k = at::randn({B, Nkv, M, D}).narrow(2, 0, L), v = at::randn({B, Nkv, M, D}).narrow(2, 0, L);
  at::Tensor key_mask = at::ones({B, L}, at::kBool);
  for (int64_t b = 0; b < B; ++b) key_mask[b].narrow(0, 0, 3 * b).fill_(false);  // row b: 3b padded keys
  const at::Tensor mask = trl::attention_bias_mask(key_mask, L - 1, 1, at::kFloat);  // (B, 1, 1, L)
  ASSERT_FALSE(mask.isfinite().all().item<bool>()) << "the test must mask some keys";
  at::Tensor expected;
  {
    const trl::ScopedGenericKernels generic;  // LibTorch's fused kernel on 2.x, matmul / softmax / matmul on 1.13
    expected = trl::grouped_attention(q, k, v, mask);
  }
  expect_close(trl::decode_attention(q, k, v, mask), expected, 1e-5);
}

// The kernels spread their rows, slices or elements over the intra-op threads (decode_kernels.cpp is compiled
// with OpenMP) and compute each whole on one thread: one thread and two give the same bits. The sizes are above
// each kernel's grain, so two threads do split the work.
TEST_F(DecodeKernels, SameOnOneAndTwoThreads) {
  c10::InferenceMode inference;
  const int64_t B = 8, Nq = 8, Nkv = 4, L = 300, D = 64;
  const at::Tensor q = at::randn({B, 1, Nq, D}).transpose(1, 2);
  const at::Tensor k = at::randn({B, Nkv, L, D}), v = at::randn({B, Nkv, L, D});
  const at::Tensor mask = trl::attention_bias_mask(at::ones({B, L}, at::kBool), L - 1, 1, at::kFloat);
  const at::Tensor x = at::randn({200, 1, 512}), weight = at::randn({512});
  const at::Tensor gate = at::randn({64, 1, 1376}), up = at::randn({64, 1, 1376});
  at::set_num_threads(2);
  const at::Tensor attention2 = trl::decode_attention(q, k, v, mask);
  const at::Tensor norm2 = trl::decode_rms_norm(x, weight, 1e-6), swiglu2 = trl::decode_swiglu(gate, up);
  at::set_num_threads(1);
  EXPECT_TRUE(at::equal(trl::decode_attention(q, k, v, mask), attention2));
  EXPECT_TRUE(at::equal(trl::decode_rms_norm(x, weight, 1e-6), norm2));
  EXPECT_TRUE(at::equal(trl::decode_swiglu(gate, up), swiglu2));
}

TEST_F(DecodeKernels, TakenForOnePositionWithoutAutograd) {
  const at::Tensor one = at::randn({4, 1, 32}), many = at::randn({4, 3, 32});
  {
    c10::InferenceMode inference;
    EXPECT_TRUE(trl::use_decode_kernels(one));
    EXPECT_FALSE(trl::use_decode_kernels(many)) << "a prefill takes the batched ops";
    EXPECT_FALSE(trl::use_decode_kernels(one.to(at::kDouble))) << "float32 only";
    const trl::ScopedGenericKernels generic;
    EXPECT_FALSE(trl::use_decode_kernels(one)) << "the device-generic path";
  }
  at::AutoGradMode grad(true);
  EXPECT_FALSE(trl::use_decode_kernels(one)) << "the kernels have no backward pass";
}

}  // namespace
