// The decode step's products (sdk/src/model/decode_products.cpp) against at::linear in double precision, at the
// bench presets' shapes and at ragged ones (K not a multiple of 8 or 16, N not a multiple of the kernel's 3- or
// 6-row block, every row count up to the limit), on two threads, by the AVX2 path and, where the CPU has it,
// the AVX-512 path; their independence of the thread count and of the rows sharing a call; and when they are
// used. ModelForward.CachedDecodingEqualsFullForward covers them in a model.
#include <optional>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include "core/kernel_dispatch.h"
#include "model/decode_products.h"
#include "model_test_support.h"

namespace {

class DecodeProducts : public trl::testing_support::TwoThreadsTest {
 protected:
  DecodeProducts() : TwoThreadsTest(5) {}

  /// Whether this CPU runs the kernel: x86-64 with AVX2 and FMA (asked of the CPU, not of use_decode_linear()).
  static bool cpu_runs_kernel() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
  }

  /// The kernel's paths this CPU can take: {true} (AVX2 forced) and, with AVX-512, {false} (its own choice).
  static std::vector<bool> forced_avx2_settings() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (__builtin_cpu_supports("avx512f")) return {false, true};
#endif
    return {true};
  }

  /// The guard that forces the AVX2 path while alive, or none (the CPU's own choice).
  static std::optional<trl::ScopedDecodeProductsAvx2> take_path(bool avx2) {
    if (avx2) return std::make_optional<trl::ScopedDecodeProductsAvx2>();
    return std::nullopt;
  }

  /// True where the kernel runs. Elsewhere generation keeps LibTorch's products: checks that the dispatch says
  /// so and that decode_linear() refuses the input, and returns false (the caller has nothing more to compare).
  static bool kernel_or_refusal(const at::Tensor& x, const at::Tensor& w) {
    if (cpu_runs_kernel()) return true;
    EXPECT_FALSE(trl::use_decode_linear(x, w));
    EXPECT_THROW(trl::decode_linear(x, w), c10::Error);
    return false;
  }

  /// decode_linear against the float64 product of the same float32 values: the float32 sums of K terms of
  /// size ~0.1 stay within 2e-5 of it (at::linear's own float32 error is of the same size).
  static void expect_product(int64_t M, int64_t K, int64_t N, bool with_bias) {
    const at::Tensor x = at::randn({M, 1, K});
    const at::Tensor w = at::randn({N, K}) * 0.05;
    const at::Tensor bias = with_bias ? at::randn({N}) : at::Tensor();
    if (!kernel_or_refusal(x, w)) return;
    at::Tensor exact = at::linear(x.to(at::kDouble), w.to(at::kDouble));
    if (with_bias) exact = exact + bias.to(at::kDouble);
    const at::Tensor ours = trl::decode_linear(x, w, bias);
    ASSERT_EQ(ours.sizes(), (std::vector<int64_t>{M, 1, N}));
    EXPECT_TRUE(at::allclose(ours.to(at::kDouble), exact, 2e-5, 2e-5))
        << "M " << M << " K " << K << " N " << N << ": " << (ours.to(at::kDouble) - exact).abs().max().item<double>();
    // The same size of error as LibTorch's own float32 product, which the rest of the model is compared with.
    const at::Tensor theirs = at::linear(x, w, bias);
    EXPECT_TRUE(at::allclose(ours, theirs, 2e-5, 2e-5)) << (ours - theirs).abs().max().item<double>();
  }
};

TEST_F(DecodeProducts, EqualLibTorchAtTheBenchShapes) {
  c10::InferenceMode inference;
  for (const bool avx2 : forced_avx2_settings()) {
    SCOPED_TRACE(avx2 ? "AVX2 path" : "AVX-512 path");
    const std::optional<trl::ScopedDecodeProductsAvx2> forced = take_path(avx2);
    // large preset: q/o (512 → 512), k/v (512 → 256), gate/up (512 → 1376), down (1376 → 512), lm_head (512 → 32000)
    for (const auto& [K, N] : std::vector<std::tuple<int64_t, int64_t>>{{512, 512}, {512, 256}, {512, 1376},
                                                                         {1376, 512}, {512, 32000}, {256, 688}})
      for (int64_t M : {1, 8, 16}) expect_product(M, K, N, /*with_bias=*/K == 512 && N == 256);
  }
}

TEST_F(DecodeProducts, EqualLibTorchAtRaggedShapes) {
  c10::InferenceMode inference;
  for (const bool avx2 : forced_avx2_settings()) {
    SCOPED_TRACE(avx2 ? "AVX2 path" : "AVX-512 path");
    const std::optional<trl::ScopedDecodeProductsAvx2> forced = take_path(avx2);
    for (int64_t M = 1; M <= trl::kDecodeProductMaxRows; ++M) expect_product(M, 37, 11, /*with_bias=*/M % 2 == 0);
    expect_product(5, 7, 2, true);      // K below one vector: the tail only
    expect_product(3, 8, 1, false);     // one weight row
    expect_product(4, 16, 13, false);   // K one AVX-512 vector, no tail; N two 6-row blocks and one row
    expect_product(16, 1001, 100, true);
  }
}

TEST_F(DecodeProducts, IndependentOfThreadsAndOfTheRowsSharingACall) {
  c10::InferenceMode inference;
  const at::Tensor x = at::randn({13, 512}), w = at::randn({1376, 512}) * 0.05;
  if (!kernel_or_refusal(x, w)) return;
  for (const bool avx2 : forced_avx2_settings()) {
    SCOPED_TRACE(avx2 ? "AVX2 path" : "AVX-512 path");
    const std::optional<trl::ScopedDecodeProductsAvx2> forced = take_path(avx2);
    at::set_num_threads(2);
    const at::Tensor two = trl::decode_linear(x, w);
    at::set_num_threads(1);
    EXPECT_TRUE(at::equal(trl::decode_linear(x, w), two));
    for (int64_t row : {0, 4, 12})
      EXPECT_TRUE(at::equal(trl::decode_linear(x.narrow(0, row, 1), w), two.narrow(0, row, 1)));
  }
}

TEST_F(DecodeProducts, LayerSizedProductsAreSpreadOverTheThreads) {
  // Every layer's product of the large preset (the smallest: k_proj and v_proj, 256 × 512) has more weight
  // blocks than one task takes, so at::parallel_for gives it to both threads: the threshold that kept such
  // products on the calling thread made the kernel slower than MKL (decode_products.cpp).
  for (const bool avx2 : forced_avx2_settings()) {
    const std::optional<trl::ScopedDecodeProductsAvx2> forced = take_path(avx2);
    const int64_t rows = trl::decode_products_block_rows();
    EXPECT_EQ(rows, avx2 ? 3 : 6);
    for (const auto& [K, N] : std::vector<std::tuple<int64_t, int64_t>>{{512, 256}, {512, 1376}, {1376, 512}})
      EXPECT_GT((N + rows - 1) / rows, trl::decode_products_blocks_per_task(K)) << "K " << K << " N " << N;
    // A product of a few thousand weight values stays on the calling thread (waking a worker costs more).
    EXPECT_LE((11 + rows - 1) / rows, trl::decode_products_blocks_per_task(37));
  }
}

TEST_F(DecodeProducts, SeveralWeightsInOneCallEqualOneCallEach) {
  // A decode step's q/k/v (with biases) and gate/up (without) in one parallel region: the same values to the bit
  // as one decode_linear() per weight, on both paths, with the shapes of the input kept.
  c10::InferenceMode inference;
  const at::Tensor x = at::randn({6, 1, 512});
  const std::vector<at::Tensor> qkv{at::randn({512, 512}) * 0.05, at::randn({256, 512}) * 0.05,
                                    at::randn({256, 512}) * 0.05};
  const std::vector<at::Tensor> biases{at::randn({512}), at::randn({256}), at::randn({256})};
  const std::vector<at::Tensor> gate_up{at::randn({1376, 512}) * 0.05, at::randn({1376, 512}) * 0.05};
  if (!kernel_or_refusal(x, qkv[0])) return;
  for (const bool avx2 : forced_avx2_settings()) {
    SCOPED_TRACE(avx2 ? "AVX2 path" : "AVX-512 path");
    const std::optional<trl::ScopedDecodeProductsAvx2> forced = take_path(avx2);
    const std::vector<at::Tensor> together = trl::decode_linear_many(x, qkv, biases);
    ASSERT_EQ(together.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(together[i].sizes(), (std::vector<int64_t>{6, 1, qkv[i].size(0)}));
      EXPECT_TRUE(at::equal(together[i], trl::decode_linear(x, qkv[i], biases[i]))) << "weight " << i;
    }
    const std::vector<at::Tensor> mlp = trl::decode_linear_many(x, gate_up);
    for (size_t i = 0; i < 2; ++i) EXPECT_TRUE(at::equal(mlp[i], trl::decode_linear(x, gate_up[i]))) << "weight " << i;
  }
  EXPECT_THROW(trl::decode_linear_many(x, qkv, {biases[0]}), c10::Error);              // one bias for three weights
  EXPECT_THROW(trl::decode_linear_many(x, {qkv[0], at::randn({8, 256})}), c10::Error);  // a weight of another width
}

TEST_F(DecodeProducts, ReadsStridedRowsAndWritesIntoARowOfABuffer) {
  c10::InferenceMode inference;
  // The sampler's case: the last position of (B, P, H) hidden states into the first B rows of a (R, V) buffer.
  const at::Tensor hidden = at::randn({6, 9, 64}).select(1, 8);  // (6, 64), rows 9 · 64 apart
  const at::Tensor w = at::randn({300, 64}) * 0.05;
  if (!kernel_or_refusal(hidden, w)) return;
  at::Tensor buffer = at::full({8, 300}, -1.0f);
  at::Tensor rows = buffer.narrow(0, 0, 6);
  trl::decode_linear_out(rows, hidden, w);
  EXPECT_TRUE(at::allclose(rows, at::linear(hidden, w), 2e-5, 2e-5));
  EXPECT_TRUE(at::equal(rows, trl::decode_linear(hidden.contiguous(), w)));
  EXPECT_TRUE(at::equal(buffer.narrow(0, 6, 2), at::full({2, 300}, -1.0f)));  // the rest untouched
  at::Tensor wrong = at::empty({6, 299});
  EXPECT_THROW(trl::decode_linear_out(wrong, hidden, w), c10::Error);
}

TEST_F(DecodeProducts, UsedOnlyForFewFloat32RowsWithoutAutograd) {
  const at::Tensor w = at::randn({32, 16});
  {
    c10::InferenceMode inference;
    const at::Tensor rows = at::randn({trl::kDecodeProductMaxRows, 1, 16});
    EXPECT_EQ(trl::decode_linear_accepts(rows, w), cpu_runs_kernel());
    EXPECT_EQ(trl::use_decode_linear(rows, w), cpu_runs_kernel());
    EXPECT_FALSE(trl::decode_linear_accepts(at::randn({trl::kDecodeProductMaxRows + 1, 1, 16}), w));
    EXPECT_FALSE(trl::use_decode_linear(at::randn({trl::kDecodeProductMaxRows + 1, 1, 16}), w));  // BLAS wins
    EXPECT_FALSE(trl::use_decode_linear(at::randn({4, 16}).to(at::kBFloat16), w));
    EXPECT_FALSE(trl::use_decode_linear(at::randn({4, 16}), w.t().contiguous().t()));  // a transposed view
    EXPECT_FALSE(trl::use_decode_linear(at::randn({4, 15}), w));                         // widths differ
    trl::ScopedGenericKernels generic;
    EXPECT_FALSE(trl::use_decode_linear(at::randn({4, 16}), w));
  }
  at::AutoGradMode grad(true);
  EXPECT_FALSE(trl::use_decode_linear(at::randn({4, 16}), w));  // training keeps LibTorch's products
  EXPECT_THROW(trl::decode_linear(at::randn({4, 16}).requires_grad_(), w), c10::Error);  // nor records them
}

// The kernel beat MKL and OpenBLAS on every machine measured, so the model takes it wherever it runs (an earlier
// rule kept MKL on Intel CPUs, decode_products.cpp).
TEST_F(DecodeProducts, UsedWhereverItRuns) {
  c10::InferenceMode inference;
  EXPECT_EQ(trl::use_decode_linear(at::randn({4, 1, 64}), at::randn({9, 64})), cpu_runs_kernel());
}

}  // namespace
