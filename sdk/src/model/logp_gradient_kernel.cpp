// The lm_head's log-prob gradient in bfloat16 in one pass (logp_gradient_kernel.h).
//
// Why: under bf16 autocast the lm_head's backward products take dz in bfloat16. With the ops, dz is made in
// float32 over the kept (N, V) probabilities (a product pass and the label's sum) and then converted: for the
// bench's large DPO step (N 1024, V 32000) three passes over 128 MB where one read and a 64 MB write do. The
// conversion rounds as c10::BFloat16 and LibTorch's vectorised conversion do (to nearest, ties to even); it is
// written out on the bits so that the loop vectorises.
#include "logp_gradient_kernel.h"

#include <cstdint>
#include <cstring>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "core/kernel_dispatch.h"
#include "core/vector_clones.h"
#include "kernel_grain.h"

namespace trl {
namespace {

/// float32 → bfloat16 bits, rounded to nearest, ties to even (c10::detail::round_to_nearest_even); NaN stays NaN.
inline uint16_t bfloat16_bits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  const uint32_t rounded = (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16;
  return value != value ? uint16_t{0x7FC0} : static_cast<uint16_t>(rounded);
}

// The row loop is compiled for AVX-512, AVX2 and the baseline (core/vector_clones.h) with the same values on
// each: the rounding is integer arithmetic and the one product per element is rounded alone (-ffp-contract=off).
// Measured on the bench VM, (1024, 32000), 2 threads, warm heap: 13-15 ms with the AVX2 clone against 19-20 ms
// for SSE2 alone and 31-36 ms for the ops.
/// One row: o = bf16(p·(−g)), and the label's element bf16(p·(−g) + g).
TRL_VECTOR_CLONES
void row_gradient(const float* row, float g, int64_t label, int64_t V, uint16_t* o) {
  const float negative = -g;
  for (int64_t v = 0; v < V; ++v) o[v] = bfloat16_bits(row[v] * negative);
  o[label] = bfloat16_bits(row[label] * negative + g);
}

}  // namespace

bool use_logp_gradient_kernel(const at::Tensor& probs, const at::Tensor& g, const at::Tensor& labels) {
  return use_cpu_kernels(probs) && probs.dim() == 2 && probs.scalar_type() == at::kFloat && probs.is_contiguous() &&
         g.dim() == 1 && g.scalar_type() == at::kFloat && g.is_contiguous() && g.size(0) == probs.size(0) &&
         labels.dim() == 1 && labels.scalar_type() == at::kLong && labels.is_contiguous() &&
         labels.size(0) == probs.size(0) && g.device() == probs.device() && labels.device() == probs.device();
}

at::Tensor logp_gradient_bf16(const at::Tensor& probs, const at::Tensor& g, const at::Tensor& labels) {
  const int64_t N = probs.size(0), V = probs.size(1);
  at::Tensor out = at::empty({N, V}, probs.options().dtype(at::kBFloat16));
  const float* p = probs.data_ptr<float>();
  const float* gs = g.data_ptr<float>();
  const int64_t* label = labels.data_ptr<int64_t>();
  auto* dst = reinterpret_cast<uint16_t*>(out.data_ptr<at::BFloat16>());
  at::parallel_for(0, N, grain_rows(V), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) row_gradient(p + r * V, gs[r], label[r], V, dst + r * V);
  });
  return out;
}

}  // namespace trl
