// Rotary position embeddings in one pass, forward and backward (rope_kernel.h).
//
// Why: transformers' apply_rotary_pos_emb is five LibTorch ops forward and, through autograd, eight backward,
// each a pass over a (B, T, heads, D) tensor (the cat's backward allocates a zero-filled copy per half). Measured
// with PyTorch 2.15 on the bench VM, q of (8, 256, 8, 64) took 5 ms per forward and backward that way, most of it
// in the backward. Compiled with -ffp-contract=off (sdk/CMakeLists.txt): each product must be rounded before the
// sum, as LibTorch's separate ops round it, or the values would differ in the last bit where a build contracts
// them into fused multiply-adds.
#include "rope_kernel.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/custom_function.h>

#include "core/kernel_dispatch.h"
#include "kernel_grain.h"

namespace trl {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

/// Rows of D floats of a (B, T, heads, D) view whose last dim is contiguous; cos and sin are (B, T, 1, D),
/// read with a head stride of 0.
struct Rows {
  const float* data;
  int64_t batch_stride, position_stride, head_stride, T, heads;

  Rows(const at::Tensor& t, int64_t heads_in, bool per_position)
      : data(t.data_ptr<float>()),
        batch_stride(t.stride(0)),
        position_stride(t.stride(1)),
        head_stride(per_position ? 0 : t.stride(2)),
        T(t.size(1)),
        heads(heads_in) {}

  const float* row(int64_t r) const {
    const int64_t h = r % heads, position = r / heads;
    return data + (position / T) * batch_stride + (position % T) * position_stride + h * head_stride;
  }
};

/// y = x·c + rotate_half(x)·s, rotate_half(x) = cat(-x2, x1): each product rounded, then the sum.
inline void forward_row(const float* x, const float* c, const float* s, float* y, int64_t half) {
  for (int64_t i = 0; i < half; ++i) y[i] = x[i] * c[i] + (-x[i + half]) * s[i];
  for (int64_t i = half; i < 2 * half; ++i) y[i] = x[i] * c[i] + x[i - half] * s[i];
}

/// Autograd's gradient through those ops: g·c from x·c, and g·s through the cat's halves, the first half
/// (which came from -x2) negated onto x2, the second onto x1. The slices' other halves are zeros, so each element
/// is the one sum g·c + (±g·s), and a sum of two does not depend on the order autograd accumulates them in.
inline void backward_row(const float* g, const float* c, const float* s, float* gx, int64_t half) {
  for (int64_t j = 0; j < half; ++j) gx[j] = g[j] * c[j] + g[j + half] * s[j + half];
  for (int64_t j = half; j < 2 * half; ++j) gx[j] = g[j] * c[j] + (-(g[j - half] * s[j - half]));
}

/// One pass over every row of `in` (x forward, the output's gradient backward) into a new contiguous tensor.
at::Tensor rope_pass(const at::Tensor& in_any, const at::Tensor& cos, const at::Tensor& sin, bool backward) {
  const at::Tensor in = in_any.stride(3) == 1 ? in_any : in_any.contiguous();
  const int64_t B = in.size(0), T = in.size(1), heads = in.size(2), D = in.size(3), half = D / 2;
  at::Tensor out = at::empty({B, T, heads, D}, in.options().memory_format(at::MemoryFormat::Contiguous));
  const Rows src(in, heads, false), c(cos, heads, true), s(sin, heads, true);
  float* dst = out.data_ptr<float>();
  at::parallel_for(0, B * T * heads, grain_rows(D), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      if (backward) {
        backward_row(src.row(r), c.row(r), s.row(r), dst + r * D, half);
      } else {
        forward_row(src.row(r), c.row(r), s.row(r), dst + r * D, half);
      }
    }
  });
  return out;
}

struct RopeFunction : public torch::autograd::Function<RopeFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
    ctx->save_for_backward({cos, sin});
    return rope_pass(x, cos, sin, /*backward=*/false);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const variable_list saved = ctx->get_saved_variables();
    return {rope_pass(grad_outputs[0], saved[0], saved[1], /*backward=*/true), at::Tensor(), at::Tensor()};
  }
};

bool is_rows(const at::Tensor& t, int64_t dims) { return t.dim() == dims && t.scalar_type() == at::kFloat; }

}  // namespace

bool use_rope_kernel(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  if (!use_cpu_kernels(x) || !is_rows(x, 4) || !is_rows(cos, 4) || !is_rows(sin, 4)) return false;
  const int64_t B = x.size(0), T = x.size(1), D = x.size(3);
  for (const at::Tensor* t : {&cos, &sin}) {
    if (t->size(0) != B || t->size(1) != T || t->size(2) != 1 || t->size(3) != D || t->stride(3) != 1 ||
        t->requires_grad() || !t->device().is_cpu())
      return false;
  }
  return D % 2 == 0 && x.stride(3) == 1;
}

at::Tensor rope_kernel(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  if (at::GradMode::is_enabled() && x.requires_grad()) return RopeFunction::apply(x, cos, sin);
  return rope_pass(x, cos, sin, /*backward=*/false);
}

}  // namespace trl
