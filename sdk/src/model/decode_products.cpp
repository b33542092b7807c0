// The decode step's products y = x·Wᵀ for a few rows (decode_products.h).
//
// Why: a decode step multiplies a few rows (one per sequence) by every weight matrix of the model, so the
// weights are read once per step and the arithmetic per weight value is small. A BLAS gemm first copies
// ("packs") its operands into panels; with a few rows, packing the weight costs as much as the product.
// `perf` of large-preset generation on an AMD EPYC (Zen 3, AVX2) bench VM: MKL's packing routines
// (sgemm_scopy_right16 / down16) 52% of the samples, its compute kernel 21%. This kernel reads each weight row
// straight from memory once per call and keeps 4 input rows × 3 weight rows of partial sums in registers.
// Measured there on the bench shapes (docs/performance.md), against at::linear on 2 threads: the (8, 512) ×
// (512, 32000)ᵀ lm_head 7.7 ms on one thread and 4.5 ms on two against MKL's 18 ms, the layers' (8, 512) ×
// (512, 1376)ᵀ 0.17-0.5 ms against 0.3-1.5 ms; at 32 rows MKL won some shapes, hence kDecodeProductMaxRows.
// Not where LibTorch's BLAS is MKL on an Intel CPU (decode_products_preferred): on the 2-core Intel (AVX-512)
// bench VM MKL's products made large-preset generation 12% faster than this kernel (2.61 against 2.91 s per
// run, small 0.71 against 0.79 s), while against OpenBLAS (Debian's 1.13) on the same VM the kernel was 4% faster
// and used 40% less CPU time (3.23 against 3.36 s; 4.0 against 6.7 CPU s).
// This file is compiled with OpenMP (sdk/CMakeLists.txt) so that at::parallel_for spreads the lm_head.
//
// Summation order: each output is one fused multiply-add chain per 8-lane vector over K in order, the lanes
// added by a fixed tree, then the tail of K beyond a multiple of 8 in order. Every output takes the same
// steps whatever block, thread or call it falls in, so results do not depend on the thread count.
#include "decode_products.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <ATen/core/grad_mode.h>
#include <ATen/Parallel.h>

#include "core/kernel_dispatch.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define TRL_DECODE_PRODUCTS 1
#define TRL_AVX2_FMA __attribute__((target("avx2,fma")))
#else
#define TRL_DECODE_PRODUCTS 0
#endif

namespace trl {
namespace {

#if TRL_DECODE_PRODUCTS

constexpr int kRowBlock = 4;     // input rows per register block
constexpr int kWeightBlock = 3;  // weight rows per register block: 4 × 3 sums + 3 weight vectors + 1 input

/// Weight values per task at least (4 MB): a layer's products (at most 0.7 M values at the large bench preset)
/// stay on the calling thread, since waking a passive OpenMP worker cost more than their 0.2 ms on the bench VM
/// ((8, 512) × (512, 1376)ᵀ: 0.17 ms on one thread, 0.38 ms on two); the lm_head's 16 M spread over the
/// threads ((8, 512) × (512, 32000)ᵀ: 7.7 ms on one, 4.5 ms on two).
constexpr int64_t kSerialWeightValues = int64_t{1} << 20;

struct Operands {
  const float* x;  // M rows, ldx apart, K each
  int64_t ldx;
  const float* w;  // N rows, K apart
  float* y;        // M rows, ldy apart, N each
  int64_t ldy;
  int64_t M, K;
};

/// Σ over the 8 lanes by a fixed tree: (l0+l4, l1+l5, l2+l6, l3+l7), then pairs, then the last two.
TRL_AVX2_FMA inline float lane_sum(__m256 v) {
  const __m128 quad = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 pair = _mm_add_ps(quad, _mm_movehl_ps(quad, quad));
  return _mm_cvtss_f32(_mm_add_ss(pair, _mm_shuffle_ps(pair, pair, 1)));
}

/// y[i, r] = x[i]·w[r] for MR input rows starting at x and NR weight rows starting at w.
template <int MR, int NR>
TRL_AVX2_FMA inline __attribute__((always_inline)) void block(const Operands& o, const float* x, const float* w,
                                                               float* y) {
  const int64_t K = o.K;
  __m256 sum[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int r = 0; r < NR; ++r) sum[i][r] = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 8 <= K; k += 8) {
    __m256 wv[NR];
    for (int r = 0; r < NR; ++r) wv[r] = _mm256_loadu_ps(w + r * K + k);
    for (int i = 0; i < MR; ++i) {
      const __m256 xv = _mm256_loadu_ps(x + i * o.ldx + k);
      for (int r = 0; r < NR; ++r) sum[i][r] = _mm256_fmadd_ps(xv, wv[r], sum[i][r]);
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int r = 0; r < NR; ++r) {
      float s = lane_sum(sum[i][r]);
      for (int64_t t = k; t < K; ++t) s = std::fma(x[i * o.ldx + t], w[r * K + t], s);
      y[i * o.ldy + r] = s;
    }
}

/// Every input row against weight rows [n0, n1).
template <int NR>
TRL_AVX2_FMA inline __attribute__((always_inline)) void weight_rows(const Operands& o, int64_t n) {
  const float* w = o.w + n * o.K;
  int64_t m = 0;
  for (; m + kRowBlock <= o.M; m += kRowBlock) block<kRowBlock, NR>(o, o.x + m * o.ldx, w, o.y + m * o.ldy + n);
  for (; m < o.M; ++m) block<1, NR>(o, o.x + m * o.ldx, w, o.y + m * o.ldy + n);
}

TRL_AVX2_FMA void product_range(const Operands& o, int64_t n0, int64_t n1) {
  int64_t n = n0;
  for (; n + kWeightBlock <= n1; n += kWeightBlock) weight_rows<kWeightBlock>(o, n);
  for (; n < n1; ++n) weight_rows<1>(o, n);
}

bool cpu_has_avx2_fma() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}

void run(const Operands& o, int64_t N) {
  // Tasks cover whole weight blocks, so a block's rows never straddle two tasks.
  const int64_t blocks = (N + kWeightBlock - 1) / kWeightBlock;
  const int64_t grain = std::max<int64_t>(1, kSerialWeightValues / std::max<int64_t>(1, o.K * kWeightBlock));
  at::parallel_for(0, blocks, grain, [&](int64_t begin, int64_t end) {
    product_range(o, begin * kWeightBlock, std::min(N, end * kWeightBlock));
  });
}

#else

bool cpu_has_avx2_fma() { return false; }

#endif

}  // namespace

bool decode_products_preferred() {
#if TRL_DECODE_PRODUCTS
  static const bool preferred = !(at::hasMKL() && __builtin_cpu_is("intel"));
  return preferred;
#else
  return false;
#endif
}

bool decode_linear_accepts(const at::Tensor& x, const at::Tensor& weight) {
  if (!cpu_has_avx2_fma() || !x.device().is_cpu() || !weight.device().is_cpu()) return false;
  if (x.scalar_type() != at::kFloat || weight.scalar_type() != at::kFloat) return false;
  if (x.dim() < 1 || weight.dim() != 2 || !weight.is_contiguous() || x.size(-1) != weight.size(1)) return false;
  const int64_t rows = x.size(-1) == 0 ? 0 : x.numel() / x.size(-1);
  return rows >= 1 && rows <= kDecodeProductMaxRows;
}

bool use_decode_linear(const at::Tensor& x, const at::Tensor& weight) {
  return decode_products_preferred() && use_cpu_kernels(x) && !at::GradMode::is_enabled() &&
         !autocast_active(x.device()) && decode_linear_accepts(x, weight);
}

void decode_linear_out(at::Tensor& out, const at::Tensor& x_in, const at::Tensor& weight) {
  TORCH_CHECK(decode_linear_accepts(x_in, weight) && x_in.dim() == 2 && !(at::GradMode::is_enabled() &&
              (x_in.requires_grad() || weight.requires_grad())), "decode_linear_out: x must be a (M, K) input that "
              "decode_linear_accepts(), weight (N, K), nothing recorded for autograd");
  TORCH_CHECK(out.scalar_type() == at::kFloat && out.dim() == 2 && out.size(0) == x_in.size(0) &&
                  out.size(1) == weight.size(0) && (out.size(1) <= 1 || out.stride(1) == 1),
              "decode_linear_out: out must be float32 (M, N) with a contiguous last dim");
#if TRL_DECODE_PRODUCTS
  const at::Tensor x = x_in.stride(-1) == 1 ? x_in : x_in.contiguous();
  const Operands o{x.data_ptr<float>(), x.stride(0), weight.data_ptr<float>(), out.data_ptr<float>(), out.stride(0),
                   x.size(0), x.size(1)};
  run(o, weight.size(0));
#endif
}

at::Tensor decode_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  const int64_t K = x.size(-1), N = weight.size(0);
  const at::Tensor rows = x.reshape({-1, K});  // a view for the decode step's contiguous inputs
  at::Tensor out = at::empty({rows.size(0), N}, x.options());
  decode_linear_out(out, rows, weight);
  if (bias.defined()) out.add_(bias);
  std::vector<int64_t> shape = x.sizes().vec();
  shape.back() = N;
  return out.view(shape);
}

}  // namespace trl
