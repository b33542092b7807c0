// CPU kernels of a decode step (decode_kernels.h).
//
// Why: a decode step is, per layer, 7 products and some 40 small ops on a few thousand values each (the norms,
// rotary embedding and SwiGLU are 4-6 LibTorch ops apiece, each a dispatch, an allocation and a pass over the
// data). Here each is one pass over raw float32 pointers; the products have their own kernel (decode_products.cpp),
// the rotary embedding the one training uses too (rope_kernel.cpp).
// Measured (docs/performance.md, interleaved rounds on the 2-core bench VM): small-preset generation 4-16% less
// CPU time per call and as fast or faster in wall time. The single-query attention reads each cached key and
// value once for all G query heads; it replaced matmul / softmax / matmul on LibTorch 1.13 (2-4% faster per
// call at the large preset) and, since this file is compiled with OpenMP (its slices on every intra-op thread),
// the fused SDPA kernel on 2.x (0-3.6% faster per call, causal_lm_forward.cpp). Both read the whole cache per
// layer, at memory bandwidth. The norms and SwiGLU of a decode step stay on the calling thread below their
// grain (kSerialElements). Each row, slice or element is computed whole by one thread, so results do not
// depend on the thread count. Compiled with -fno-math-errno (sdk/CMakeLists.txt) so sqrt and the loops vectorise.
#include "decode_kernels.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/Parallel.h>

#include "core/kernel_dispatch.h"
#include "core/vector_clones.h"
#include "kernel_grain.h"

namespace trl {
namespace {

/// a·b over n floats with eight partial sums, which the compiler turns into vector multiply-adds.
inline float dot(const float* __restrict a, const float* __restrict b, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int u = 0; u < 8; ++u) acc[u] += a[i + u] * b[i + u];
  float sum = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

/// One (row, key/value head) of a decode step: its G query heads against L cached keys and values.
struct AttentionSlice {
  const float* query;  // G heads, `query_stride` apart, D each
  int64_t query_stride;
  const float* keys;  // L positions, `key_stride` apart
  int64_t key_stride;
  const float* values;
  int64_t value_stride;
  const float* bias;  // L additive mask values
  float* out;         // G × D, contiguous
  int64_t G, L, D;
  float scale;
};

/// softmax(q·kᵀ·scale + bias)·v for the slice's G query heads, each key and value row read once for all of
/// them; `probs` holds G × L floats. Compiled for AVX-512, AVX2 and the baseline, chosen at load time (the
/// keys and values are the decode's largest reads after the weights).
TRL_VECTOR_CLONES void attend_slice(const AttentionSlice& s, float* probs) {
  const int64_t G = s.G, L = s.L, D = s.D;
  for (int64_t j = 0; j < L; ++j) {
    const float* key = s.keys + j * s.key_stride;
    for (int64_t g = 0; g < G; ++g) probs[g * L + j] = dot(s.query + g * s.query_stride, key, D) * s.scale + s.bias[j];
  }
  for (int64_t g = 0; g < G; ++g) {
    float* p = probs + g * L;
    // The mask lets each query see its own position, so `highest` is finite.
    const float highest = *std::max_element(p, p + L);
    float total = 0;
    for (int64_t j = 0; j < L; ++j) {
      p[j] = std::exp(p[j] - highest);
      total += p[j];
    }
    const float inverse = 1.0f / total;
    for (int64_t j = 0; j < L; ++j) p[j] *= inverse;
  }
  std::fill(s.out, s.out + G * D, 0.0f);
  for (int64_t j = 0; j < L; ++j) {
    const float* __restrict row = s.values + j * s.value_stride;
    for (int64_t g = 0; g < G; ++g) {
      const float weight = probs[g * L + j];
      if (weight == 0.0f) continue;  // masked keys
      float* __restrict o = s.out + g * D;
      for (int64_t d = 0; d < D; ++d) o[d] += weight * row[d];
    }
  }
}

void check_float(const at::Tensor& t, const char* what) {
  TORCH_CHECK(t.scalar_type() == at::kFloat && t.device().is_cpu(), what, ": decode kernels take float32 CPU tensors");
}

}  // namespace

bool use_decode_kernels(const at::Tensor& hidden) {
  return use_cpu_kernels(hidden) && hidden.scalar_type() == at::kFloat && hidden.dim() == 3 && hidden.size(1) == 1 &&
         !at::GradMode::is_enabled() && !autocast_active(hidden.device());
}

at::Tensor decode_rms_norm(const at::Tensor& x_in, const at::Tensor& weight_in, double eps) {
  check_float(x_in, "decode_rms_norm");
  const at::Tensor x = x_in.contiguous();
  const at::Tensor weight = weight_in.contiguous();
  const int64_t N = x.size(-1), rows = x.numel() / N;
  TORCH_CHECK(weight.numel() == N, "decode_rms_norm: the weight has ", weight.numel(), " values for rows of ", N);
  at::Tensor out = at::empty_like(x);
  const float* src = x.data_ptr<float>();
  const float* w = weight.data_ptr<float>();
  float* dst = out.data_ptr<float>();
  const float epsilon = static_cast<float>(eps);  // a float tensor + a Python float adds in float32
  at::parallel_for(0, rows, grain_rows(N), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* xr = src + r * N;
      double squares = 0;
      for (int64_t i = 0; i < N; ++i) squares += static_cast<double>(xr[i]) * xr[i];
      const float inverse = 1.0f / std::sqrt(static_cast<float>(squares / static_cast<double>(N)) + epsilon);
      float* yr = dst + r * N;
      for (int64_t i = 0; i < N; ++i) yr[i] = w[i] * (xr[i] * inverse);
    }
  });
  return out;
}

at::Tensor decode_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask_in) {
  check_float(q, "decode_attention");
  const int64_t B = q.size(0), Nq = q.size(1), D = q.size(3), Nkv = k.size(1), L = k.size(2), G = Nq / Nkv;
  TORCH_CHECK(q.size(2) == 1 && q.stride(3) == 1 && k.stride(3) == 1 && v.stride(3) == 1 && v.sizes() == k.sizes(),
              "decode_attention: q must be (B, Nq, 1, D), k and v (B, Nkv, L, D), each with a contiguous last dim");
  const at::Tensor mask = mask_in.contiguous();
  TORCH_CHECK(mask.numel() == B * L, "decode_attention: the mask must be (B, 1, 1, L)");
  at::Tensor out = at::empty({B, 1, Nq * D}, q.options());
  const float* qp = q.data_ptr<float>();
  const float* kp = k.data_ptr<float>();
  const float* vp = v.data_ptr<float>();
  const float* mp = mask.data_ptr<float>();
  float* op = out.data_ptr<float>();
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(D)));
  // Strides read once: Tensor::stride() checks its argument on every call.
  const int64_t q_row = q.stride(0), q_head = q.stride(1);
  const int64_t k_row = k.stride(0), k_head = k.stride(1), k_pos = k.stride(2);
  const int64_t v_row = v.stride(0), v_head = v.stride(1), v_pos = v.stride(2);
  at::parallel_for(0, B * Nkv, grain_rows(G * L * D), [&](int64_t begin, int64_t end) {
    std::vector<float> probs(static_cast<size_t>(G * L));
    for (int64_t task = begin; task < end; ++task) {
      const int64_t b = task / Nkv, h = task % Nkv;
      const AttentionSlice slice{qp + b * q_row + h * G * q_head, q_head, kp + b * k_row + h * k_head, k_pos,
                                 vp + b * v_row + h * v_head, v_pos, mp + b * L, op + (b * Nq + h * G) * D, G, L, D, scale};
      attend_slice(slice, probs.data());
    }
  });
  return out;
}

at::Tensor decode_swiglu(const at::Tensor& gate_in, const at::Tensor& up_in) {
  check_float(gate_in, "decode_swiglu");
  const at::Tensor gate = gate_in.contiguous(), up = up_in.contiguous();
  TORCH_CHECK(gate.sizes() == up.sizes(), "decode_swiglu: gate and up must have one shape");
  at::Tensor out = at::empty_like(gate);
  const float* g = gate.data_ptr<float>();
  const float* u = up.data_ptr<float>();
  float* dst = out.data_ptr<float>();
  at::parallel_for(0, gate.numel(), kSerialElements, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) dst[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
  });
  return out;
}

}  // namespace trl
