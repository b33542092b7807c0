// The decode step's products y = x·Wᵀ for a few rows (decode_products.h).
//
// Why: a decode step multiplies a few rows (one per sequence) by every weight matrix of the model, so the
// weights are read once per step and the arithmetic per weight value is small. A BLAS gemm first copies
// ("packs") its operands into panels; with a few rows, packing the weight costs as much as the product.
// `perf` of large-preset generation on an AMD EPYC (Zen 3, AVX2) bench VM: MKL's packing routines
// (sgemm_scopy_right16 / down16) 52% of the samples, its compute kernel 21%. This kernel reads each weight row
// straight from memory once per call and keeps 4 input rows × 3 (AVX2) or × 6 (AVX-512) weight rows of partial
// sums in registers; with AVX-512 it also prefetches the next weight rows while it computes the current ones.
// Measured (docs/performance.md, "Changes of 2026-12-07 (decode products)"), interleaved runs on 2 threads: on the
// 2-core Intel (AVX-512) bench VM against MKL's products, large-preset generation 1.37x faster (8 rows) and 1.32x
// (16 rows, GRPO's), small 1.33x, with the AVX2 path alone 1.30x; on the AMD EPYC VM (the AVX2 path with the
// layers on one thread) the lm_head (8, 512) × (512, 32000)ᵀ 4.5 ms against MKL's 18 ms. An earlier rule kept
// MKL on Intel CPUs: there the kernel lost while it ran every layer's product on the calling thread
// (kSerialWeightValues below). At 32 rows MKL won some shapes, hence kDecodeProductMaxRows.
// This file is compiled with OpenMP (sdk/CMakeLists.txt) so that at::parallel_for spreads the products.
//
// Summation order: each output is one fused multiply-add chain per vector over K in order, the lanes added by a
// fixed tree; AVX2: 8-lane vectors, then the tail of K beyond a multiple of 8 in order; AVX-512: 16-lane
// vectors, the tail one more masked vector, the 16 lanes folded to 8 (lane l + lane l + 8), then AVX2's tree.
// Every output takes the same steps whatever block, thread or call it falls in, so results do not depend on the
// thread count (they do depend on the path: the two round differently in the last bits).
#include "decode_products.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/Parallel.h>

#include "core/kernel_dispatch.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define TRL_DECODE_PRODUCTS 1
#define TRL_AVX2_FMA __attribute__((target("avx2,fma")))
#define TRL_AVX512 __attribute__((target("avx512f,avx2,fma")))
#else
#define TRL_DECODE_PRODUCTS 0
#endif

namespace trl {
namespace {

/// Set by ScopedDecodeProductsAvx2 (tests): the AVX2 kernel even where AVX-512 is available.
std::atomic<bool> force_avx2{false};

struct Operands {
  const float* x;  // M rows, ldx apart, K each
  int64_t ldx;
  const float* w;  // N rows, K apart
  float* y;        // M rows, ldy apart, N each
  int64_t ldy;
  int64_t M, K;
};

/// One product of a run() call: its operands and its weight's rows.
struct Product {
  Operands o;
  int64_t N;
};

#if TRL_DECODE_PRODUCTS

constexpr int kRowBlock = 4;  // input rows per register block
// Weight rows per register block: AVX2 4 × 3 sums + 3 weight vectors + 1 input (16 registers); AVX-512
// 4 × 6 sums + 6 weight vectors + 1 input (31 of 32).
constexpr int kWeightBlockAvx2 = 3;
constexpr int kWeightBlockAvx512 = 6;

/// Weight values per task at least (64 K): every product of the bench presets' layers is spread over the
/// threads. Measured on the 2-core Intel (AVX-512) bench VM with OMP_WAIT_POLICY=PASSIVE, all products of one
/// large-preset decode step (8 layers + lm_head, a stand-alone loop): 16 rows 10.8 ms with the layers on two
/// threads against 14.5 ms on one, 8 rows 7.8 against 10.4 ms (docs/performance.md). The earlier 1 M kept the
/// layers on the calling thread after one (8, 512) × (512, 1376)ᵀ product alone on the AMD VM took 0.17 ms on
/// one thread and 0.38 ms on two; the whole step is what counts (not re-measured on AMD).
constexpr int64_t kSerialWeightValues = int64_t{1} << 16;

/// Σ over the 8 lanes by a fixed tree: (l0+l4, l1+l5, l2+l6, l3+l7), then pairs, then the last two.
TRL_AVX2_FMA inline float lane_sum(__m256 v) {
  const __m128 quad = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 pair = _mm_add_ps(quad, _mm_movehl_ps(quad, quad));
  return _mm_cvtss_f32(_mm_add_ss(pair, _mm_shuffle_ps(pair, pair, 1)));
}

/// y[i, r] = x[i]·w[r] for MR input rows starting at x and NR weight rows starting at w (AVX2).
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

/// Every input row against weight rows [n, n + NR) (AVX2).
template <int NR>
TRL_AVX2_FMA inline __attribute__((always_inline)) void weight_rows(const Operands& o, int64_t n) {
  const float* w = o.w + n * o.K;
  int64_t m = 0;
  for (; m + kRowBlock <= o.M; m += kRowBlock) block<kRowBlock, NR>(o, o.x + m * o.ldx, w, o.y + m * o.ldy + n);
  for (; m < o.M; ++m) block<1, NR>(o, o.x + m * o.ldx, w, o.y + m * o.ldy + n);
}

TRL_AVX2_FMA void product_range_avx2(const Operands& o, int64_t n0, int64_t n1) {
  int64_t n = n0;
  for (; n + kWeightBlockAvx2 <= n1; n += kWeightBlockAvx2) weight_rows<kWeightBlockAvx2>(o, n);
  for (; n < n1; ++n) weight_rows<1>(o, n);
}

/// Σ over the 16 lanes by a fixed tree: lane l plus lane l + 8, then lane_sum() of those 8.
TRL_AVX512 inline float lane_sum16(__m512 v) {
  // The masked extracts with every lane selected: GCC 12's unmasked ones (and its 512-to-256 cast) warn about
  // their own undefined operand.
  const __m512d d = _mm512_castps_pd(v);
  const __m256 low = _mm256_castpd_ps(_mm512_mask_extractf64x4_pd(_mm256_setzero_pd(), 0xFF, d, 0));
  const __m256 high = _mm256_castpd_ps(_mm512_mask_extractf64x4_pd(_mm256_setzero_pd(), 0xFF, d, 1));
  return lane_sum(_mm256_add_ps(low, high));
}

/// y[i, r] = x[i]·w[r] for MR input rows and NR weight rows (AVX-512). The tail of K (K mod 16 values) is one
/// more masked multiply-add per chain (the masked-off lanes add 0·0). With `prefetch` (the first row block of
/// a weight block) the next weight block's rows are requested from memory as this one's are read, so the
/// next block does not start with a stall: 5-10% of a decode step's products on the bench VM.
template <int MR, int NR>
TRL_AVX512 inline __attribute__((always_inline)) void block512(const Operands& o, const float* x, const float* w,
                                                               float* y, bool prefetch) {
  const int64_t K = o.K;
  __m512 sum[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int r = 0; r < NR; ++r) sum[i][r] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 16 <= K; k += 16) {
    if (prefetch)
      for (int r = 0; r < NR; ++r) _mm_prefetch(reinterpret_cast<const char*>(w + (NR + r) * K + k), _MM_HINT_T0);
    __m512 wv[NR];
    for (int r = 0; r < NR; ++r) wv[r] = _mm512_loadu_ps(w + r * K + k);
    for (int i = 0; i < MR; ++i) {
      const __m512 xv = _mm512_loadu_ps(x + i * o.ldx + k);
      for (int r = 0; r < NR; ++r) sum[i][r] = _mm512_fmadd_ps(xv, wv[r], sum[i][r]);
    }
  }
  if (k < K) {
    const __mmask16 tail = static_cast<__mmask16>((1u << (K - k)) - 1u);
    __m512 wv[NR];
    for (int r = 0; r < NR; ++r) wv[r] = _mm512_maskz_loadu_ps(tail, w + r * K + k);
    for (int i = 0; i < MR; ++i) {
      const __m512 xv = _mm512_maskz_loadu_ps(tail, x + i * o.ldx + k);
      for (int r = 0; r < NR; ++r) sum[i][r] = _mm512_fmadd_ps(xv, wv[r], sum[i][r]);
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int r = 0; r < NR; ++r) y[i * o.ldy + r] = lane_sum16(sum[i][r]);
}

/// Every input row against weight rows [n, n + NR) (AVX-512); `prefetch`: the next NR weight rows follow.
template <int NR>
TRL_AVX512 inline __attribute__((always_inline)) void weight_rows512(const Operands& o, int64_t n, bool prefetch) {
  const float* w = o.w + n * o.K;
  int64_t m = 0;
  for (; m + kRowBlock <= o.M; m += kRowBlock)
    block512<kRowBlock, NR>(o, o.x + m * o.ldx, w, o.y + m * o.ldy + n, prefetch && m == 0);
  for (; m < o.M; ++m) block512<1, NR>(o, o.x + m * o.ldx, w, o.y + m * o.ldy + n, prefetch && m == 0);
}

TRL_AVX512 void product_range_avx512(const Operands& o, int64_t n0, int64_t n1) {
  int64_t n = n0;
  for (; n + kWeightBlockAvx512 <= n1; n += kWeightBlockAvx512)
    weight_rows512<kWeightBlockAvx512>(o, n, n + 2 * kWeightBlockAvx512 <= n1);
  for (; n < n1; ++n) weight_rows512<1>(o, n, false);
}

bool cpu_has_avx2_fma() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}

bool cpu_has_avx512f() {
  static const bool has = __builtin_cpu_supports("avx512f");
  return has;
}

bool use_avx512() { return cpu_has_avx512f() && !force_avx2.load(std::memory_order_relaxed); }

int64_t block_rows() { return use_avx512() ? kWeightBlockAvx512 : kWeightBlockAvx2; }

int64_t blocks_per_task(int64_t K) {
  return std::max<int64_t>(1, kSerialWeightValues / std::max<int64_t>(1, K * block_rows()));
}

/// Every product in one parallel region: tasks take ranges of all the products' weight blocks in turn, so one
/// hand-off to the intra-op threads serves them all (a layer's q/k/v, or gate/up). A block never straddles two
/// tasks or two products, and each output is computed as in a call of its own.
void run(const std::vector<Product>& products) {
  const bool wide = use_avx512();
  const int64_t rows_per_block = block_rows();
  std::vector<int64_t> first_block(products.size() + 1, 0);  // product p covers [first_block[p], first_block[p + 1])
  for (size_t p = 0; p < products.size(); ++p)
    first_block[p + 1] = first_block[p] + (products[p].N + rows_per_block - 1) / rows_per_block;
  const int64_t blocks = first_block.back();
  if (blocks == 0) return;
  // The products share their input, so one width K sets the grain.
  at::parallel_for(0, blocks, blocks_per_task(products.front().o.K), [&](int64_t begin, int64_t end) {
    for (size_t p = 0; p < products.size(); ++p) {
      const int64_t lo = std::max(begin, first_block[p]), hi = std::min(end, first_block[p + 1]);
      if (lo >= hi) continue;
      const Product& product = products[p];
      const int64_t n0 = (lo - first_block[p]) * rows_per_block;
      const int64_t n1 = std::min(product.N, (hi - first_block[p]) * rows_per_block);
      if (wide)
        product_range_avx512(product.o, n0, n1);
      else
        product_range_avx2(product.o, n0, n1);
    }
  });
}

#else

bool cpu_has_avx2_fma() { return false; }
int64_t block_rows() { return 1; }
int64_t blocks_per_task(int64_t) { return 1; }

#endif

}  // namespace

int64_t decode_products_block_rows() { return block_rows(); }

int64_t decode_products_blocks_per_task(int64_t K) { return blocks_per_task(K); }

ScopedDecodeProductsAvx2::ScopedDecodeProductsAvx2() : previous_(force_avx2.exchange(true)) {}
ScopedDecodeProductsAvx2::~ScopedDecodeProductsAvx2() { force_avx2.store(previous_); }

bool decode_linear_accepts(const at::Tensor& x, const at::Tensor& weight) {
  if (!cpu_has_avx2_fma() || !x.device().is_cpu() || !weight.device().is_cpu()) return false;
  if (x.scalar_type() != at::kFloat || weight.scalar_type() != at::kFloat) return false;
  if (x.dim() < 1 || weight.dim() != 2 || !weight.is_contiguous() || x.size(-1) != weight.size(1)) return false;
  const int64_t rows = x.size(-1) == 0 ? 0 : x.numel() / x.size(-1);
  return rows >= 1 && rows <= kDecodeProductMaxRows;
}

bool use_decode_linear(const at::Tensor& x, const at::Tensor& weight) {
  return use_cpu_kernels(x) && !at::GradMode::is_enabled() && !autocast_active(x.device()) &&
         decode_linear_accepts(x, weight);
}

namespace {

void check_product(const at::Tensor& out, const at::Tensor& x, const at::Tensor& weight, const char* what) {
  TORCH_CHECK(decode_linear_accepts(x, weight) && x.dim() == 2 && !(at::GradMode::is_enabled() &&
              (x.requires_grad() || weight.requires_grad())), what, ": x must be a (M, K) input that "
              "decode_linear_accepts(), weight (N, K), nothing recorded for autograd");
  TORCH_CHECK(out.scalar_type() == at::kFloat && out.dim() == 2 && out.size(0) == x.size(0) &&
                  out.size(1) == weight.size(0) && (out.size(1) <= 1 || out.stride(1) == 1),
              what, ": out must be float32 (M, N) with a contiguous last dim");
}

#if TRL_DECODE_PRODUCTS
/// The kernel's operands for out = x·weightᵀ: x (M, K) with a contiguous last dim, as check_product() accepted.
Product product_of(const at::Tensor& x, const at::Tensor& weight, at::Tensor& out) {
  return Product{Operands{x.data_ptr<float>(), x.stride(0), weight.data_ptr<float>(), out.data_ptr<float>(),
                          out.stride(0), x.size(0), x.size(1)},
                 weight.size(0)};
}
#endif

}  // namespace

void decode_linear_out(at::Tensor& out, const at::Tensor& x_in, const at::Tensor& weight) {
  check_product(out, x_in, weight, "decode_linear_out");
#if TRL_DECODE_PRODUCTS
  run({product_of(x_in.stride(-1) == 1 ? x_in : x_in.contiguous(), weight, out)});
#endif
}

at::Tensor decode_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  return decode_linear_many(x, {weight}, {bias}).front();
}

std::vector<at::Tensor> decode_linear_many(const at::Tensor& x_in, at::TensorList weights, at::TensorList biases) {
  TORCH_CHECK(biases.empty() || biases.size() == weights.size(),
              "decode_linear_many: give one bias (or an undefined tensor) per weight, or none");
  const int64_t K = x_in.size(-1);
  const at::Tensor x = x_in.reshape({-1, K});  // a view for the decode step's contiguous inputs
  const at::Tensor rows = x.stride(-1) == 1 ? x : x.contiguous();
  std::vector<at::Tensor> outs;
  std::vector<Product> products;
  for (const at::Tensor& weight : weights) {
    outs.push_back(at::empty({rows.size(0), weight.size(0)}, x_in.options()));
    check_product(outs.back(), rows, weight, "decode_linear_many");
#if TRL_DECODE_PRODUCTS
    products.push_back(product_of(rows, weight, outs.back()));
#endif
  }
#if TRL_DECODE_PRODUCTS
  run(products);
#endif
  std::vector<int64_t> shape = x_in.sizes().vec();
  for (size_t i = 0; i < outs.size(); ++i) {
    if (!biases.empty() && biases[i].defined()) outs[i].add_(biases[i]);
    shape.back() = weights[i].size(0);
    outs[i] = outs[i].view(shape);
  }
  return outs;
}

}  // namespace trl
