// Rotary position embeddings in one pass, forward and backward (rope_kernel.h).
//
// Why: transformers' apply_rotary_pos_emb is five LibTorch ops forward and, through autograd, eight backward,
// each a pass over a (B, T, heads, D) tensor (the cat's backward allocates a zero-filled copy per half). Measured
// with PyTorch 2.15 on the bench VM, q of (8, 256, 8, 64) took 5 ms per forward and backward that way, most of it
// in the backward. Compiled with -ffp-contract=off (sdk/CMakeLists.txt): each product must be rounded before the
// sum, as LibTorch's separate ops round it, or the values would differ in the last bit where a build contracts
// them into fused multiply-adds.
// Under bf16 autocast x is a bfloat16 projection and cos/sin float32: the ops then promote x·cos to float32
// (every bfloat16 value is a float32 value, so the forward is the float32 one), and autograd rounds each
// product's gradient to bfloat16 before summing them into x's (backward_row_bf16). The same values to the bit
// there too, without the ops' copies of x to float32 and back.
#include "rope_kernel.h"

#include <type_traits>

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

/// Rows of D values of a (B, T, heads, D) view whose last dim is contiguous; cos and sin are (B, T, 1, D),
/// read with a head stride of 0.
template <typename Value>
struct Rows {
  const Value* data;
  int64_t batch_stride, position_stride, head_stride, T, heads;

  Rows(const at::Tensor& t, int64_t heads_in, bool per_position)
      : data(t.data_ptr<Value>()),
        batch_stride(t.stride(0)),
        position_stride(t.stride(1)),
        head_stride(per_position ? 0 : t.stride(2)),
        T(t.size(1)),
        heads(heads_in) {}

  const Value* row(int64_t r) const {
    const int64_t h = r % heads, position = r / heads;
    return data + (position / T) * batch_stride + (position % T) * position_stride + h * head_stride;
  }
};

/// y = x·c + rotate_half(x)·s, rotate_half(x) = cat(-x2, x1): each product rounded, then the sum; a bfloat16 x
/// widened exactly to float32 first, as the ops' type promotion does.
template <typename In>
inline void forward_row(const In* x_in, const float* c, const float* s, float* y, int64_t half) {
  auto x = [&](int64_t i) { return static_cast<float>(x_in[i]); };
  for (int64_t i = 0; i < half; ++i) y[i] = x(i) * c[i] + (-x(i + half)) * s[i];
  for (int64_t i = half; i < 2 * half; ++i) y[i] = x(i) * c[i] + x(i - half) * s[i];
}

/// Autograd's gradient through those ops: g·c from x·c, and g·s through the cat's halves, the first half
/// (which came from -x2) negated onto x2, the second onto x1. The slices' other halves are zeros, so each element
/// is the one sum g·c + (±g·s), and a sum of two does not depend on the order autograd accumulates them in.
inline void backward_row(const float* g, const float* c, const float* s, float* gx, int64_t half) {
  for (int64_t j = 0; j < half; ++j) gx[j] = g[j] * c[j] + g[j + half] * s[j + half];
  for (int64_t j = half; j < 2 * half; ++j) gx[j] = g[j] * c[j] + (-(g[j - half] * s[j - half]));
}

/// The same for a bfloat16 x: autograd hands each product's float32 gradient to x in x's dtype (rounded to
/// bfloat16), and sums the two in bfloat16 (each sum in float32, then rounded).
inline void backward_row_bf16(const float* g, const float* c, const float* s, c10::BFloat16* gx, int64_t half) {
  auto bf16 = [](float v) { return static_cast<float>(c10::BFloat16(v)); };
  for (int64_t j = 0; j < half; ++j) gx[j] = c10::BFloat16(bf16(g[j] * c[j]) + bf16(g[j + half] * s[j + half]));
  for (int64_t j = half; j < 2 * half; ++j)
    gx[j] = c10::BFloat16(bf16(g[j] * c[j]) + (-bf16(g[j - half] * s[j - half])));
}

/// A new contiguous (B, T, heads, D) tensor like `in` in `type`.
at::Tensor rows_like(const at::Tensor& in, c10::ScalarType type) {
  return at::empty(in.sizes(), in.options().dtype(type).memory_format(at::MemoryFormat::Contiguous));
}

/// f(r) for every row r of `rows`, spread over the intra-op threads, each row computed whole by one thread.
template <typename F>
void for_each_row(int64_t rows, int64_t D, const F& f) {
  at::parallel_for(0, rows, grain_rows(D), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) f(r);
  });
}

/// The forward pass: x (float32 or bfloat16, last dim contiguous) into a new contiguous float32 tensor.
template <typename In>
at::Tensor forward_pass(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const int64_t heads = x.size(2), D = x.size(3);
  at::Tensor out = rows_like(x, at::kFloat);
  const Rows<In> src(x, heads, false);
  const Rows<float> c(cos, heads, true), s(sin, heads, true);
  float* dst = out.data_ptr<float>();
  for_each_row(out.numel() / D, D, [&](int64_t r) { forward_row(src.row(r), c.row(r), s.row(r), dst + r * D, D / 2); });
  return out;
}

/// The backward pass: the output's float32 gradient (last dim contiguous) into a new tensor of x's dtype.
template <typename Out>
at::Tensor backward_pass(const at::Tensor& grad, const at::Tensor& cos, const at::Tensor& sin) {
  const int64_t heads = grad.size(2), D = grad.size(3), half = D / 2;
  at::Tensor out = rows_like(grad, c10::CppTypeToScalarType<Out>::value);
  const Rows<float> g(grad, heads, false), c(cos, heads, true), s(sin, heads, true);
  Out* dst = out.data_ptr<Out>();
  for_each_row(out.numel() / D, D, [&](int64_t r) {
    if constexpr (std::is_same_v<Out, c10::BFloat16>) {
      backward_row_bf16(g.row(r), c.row(r), s.row(r), dst + r * D, half);
    } else {
      backward_row(g.row(r), c.row(r), s.row(r), dst + r * D, half);
    }
  });
  return out;
}

at::Tensor last_dim_contiguous(const at::Tensor& t) { return t.stride(3) == 1 ? t : t.contiguous(); }

at::Tensor forward_any(const at::Tensor& x_any, const at::Tensor& cos, const at::Tensor& sin) {
  const at::Tensor x = last_dim_contiguous(x_any);
  return x.scalar_type() == at::kBFloat16 ? forward_pass<c10::BFloat16>(x, cos, sin) : forward_pass<float>(x, cos, sin);
}

struct RopeFunction : public torch::autograd::Function<RopeFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
    ctx->save_for_backward({cos, sin});
    ctx->saved_data["x_type"] = static_cast<int64_t>(x.scalar_type());
    return forward_any(x, cos, sin);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const variable_list saved = ctx->get_saved_variables();
    const at::Tensor grad = last_dim_contiguous(grad_outputs[0].to(at::kFloat));  // the output is float32
    const bool bf16 = ctx->saved_data["x_type"].toInt() == static_cast<int64_t>(at::kBFloat16);
    const at::Tensor grad_x =
        bf16 ? backward_pass<c10::BFloat16>(grad, saved[0], saved[1]) : backward_pass<float>(grad, saved[0], saved[1]);
    return {grad_x, at::Tensor(), at::Tensor()};
  }
};

bool is_rows(const at::Tensor& t, int64_t dims) { return t.dim() == dims && t.scalar_type() == at::kFloat; }

}  // namespace

bool use_rope_kernel(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  // x float32, or bfloat16 beside float32 angles (autocast's projections of a float32 model)
  const bool x_rows = x.dim() == 4 && (x.scalar_type() == at::kFloat || x.scalar_type() == at::kBFloat16);
  if (!use_cpu_kernels(x) || !x_rows || !is_rows(cos, 4) || !is_rows(sin, 4)) return false;
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
  return forward_any(x, cos, sin);
}

}  // namespace trl
