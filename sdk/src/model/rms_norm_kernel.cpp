// RMSNorm in one pass, forward and backward (rms_norm_kernel.h).
//
// Why: transformers' LlamaRMSNorm is six LibTorch ops forward (pow, mean, + eps, rsqrt, two products) and,
// through autograd, some twelve backward, each a pass over a (rows, H) tensor; the product weight · normed also
// keeps a (rows, H) copy alive for the backward. A DPO step of the bench's large preset runs 68 norms forward and
// 34 backward, about 5% of the step that way (op profile, docs/performance.md). Compiled with -ffp-contract=off
// (sdk/CMakeLists.txt): each product is rounded before the next operation, as LibTorch's separate ops round it.
#include "rms_norm_kernel.h"

#include <algorithm>
#include <cmath>
#include <vector>

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

/// Partial sums per row: the compiler keeps them in vector registers (LibTorch's own sums run in several
/// vector accumulators too, so the rounding is of the same size, if not the same).
constexpr int kPartials = 16;

/// Rows per block of the weight's column sums: each block summed in float, the blocks in double.
constexpr int64_t kBlockRows = 64;

/// Σ term(i) for i < n in kPartials float partial sums, then added pairwise.
template <class Term>
inline float row_sum(int64_t n, Term term) {
  float acc[kPartials] = {};
  int64_t i = 0;
  for (; i + kPartials <= n; i += kPartials)
    for (int u = 0; u < kPartials; ++u) acc[u] += term(i + u);
  for (int width = kPartials / 2; width > 0; width /= 2)
    for (int u = 0; u < width; ++u) acc[u] += acc[u + width];
  float sum = acc[0];
  for (; i < n; ++i) sum += term(i);
  return sum;
}

/// y = w · (x · r), r = 1 / sqrt(Σx² / H + eps) per row, written to `inverse`.
at::Tensor forward_pass(const at::Tensor& x, const at::Tensor& weight, double eps, at::Tensor* inverse) {
  const int64_t H = x.size(-1), rows = x.numel() / H;
  at::Tensor y = at::empty_like(x, at::MemoryFormat::Contiguous);
  *inverse = at::empty({rows}, x.options());
  const float* src = x.data_ptr<float>();
  const float* w = weight.data_ptr<float>();
  float* dst = y.data_ptr<float>();
  float* inv = inverse->data_ptr<float>();
  const float epsilon = static_cast<float>(eps);  // a float tensor + a Python float adds in float32
  const float width = static_cast<float>(H);     // the mean is the sum divided by H, in float32
  at::parallel_for(0, rows, grain_rows(H), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* xr = src + r * H;
      const float mean = row_sum(H, [xr](int64_t i) { return xr[i] * xr[i]; }) / width;
      const float inverse_r = 1.0f / std::sqrt(mean + epsilon);  // rsqrt as LibTorch computes it
      inv[r] = inverse_r;
      float* yr = dst + r * H;
      for (int64_t i = 0; i < H; ++i) yr[i] = w[i] * (xr[i] * inverse_r);
    }
  });
  return y;
}

/// What both gradients read: the output's gradient g, x and the weight as saved, and r per row (all contiguous).
struct Saved {
  int64_t H, rows;
  const float *g, *x, *w, *inverse;

  Saved(const at::Tensor& g_in, const at::Tensor& x_in, const at::Tensor& weight, const at::Tensor& inverse_in)
      : H(x_in.size(-1)),
        rows(x_in.numel() / H),
        g(g_in.data_ptr<float>()),
        x(x_in.data_ptr<float>()),
        w(weight.data_ptr<float>()),
        inverse(inverse_in.data_ptr<float>()) {}
};

/// The gradient for x: autograd's sum of the two paths through x · r and through pow → mean → rsqrt, each
/// rounded as its backward op rounds it (MulBackward0 g·w, then ·r; RsqrtBackward0 −0.5·grad·r³ with r³ = r·r·r;
/// MeanBackward1 / H; PowBackward0 ·(2·x)), written into dx (x's shape, contiguous).
at::Tensor input_gradient(const Saved& in, at::Tensor dx) {
  const int64_t H = in.H;
  const float* w = in.w;
  float* dst = dx.data_ptr<float>();
  const float width = static_cast<float>(H);
  at::parallel_for(0, in.rows, grain_rows(H), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float *gr = in.g + r * H, *xr = in.x + r * H;
      const float inverse_r = in.inverse[r];
      const float grad_inverse = row_sum(H, [gr, xr, w](int64_t i) { return (gr[i] * w[i]) * xr[i]; });
      const float grad_square = ((-0.5f * grad_inverse) * ((inverse_r * inverse_r) * inverse_r)) / width;
      float* dr = dst + r * H;
      for (int64_t i = 0; i < H; ++i) dr[i] = (gr[i] * w[i]) * inverse_r + grad_square * (2.0f * xr[i]);
    }
  });
  return dx;
}

/// The weight's gradient Σ over rows of g · (x · r): columns spread over the threads, each column's rows
/// summed in order (blocks of kBlockRows in float, the blocks in double), whatever the thread count; written
/// into dw (H).
at::Tensor weight_gradient(const Saved& in, at::Tensor dw) {
  const int64_t H = in.H, rows = in.rows;
  float* dst = dw.data_ptr<float>();
  const int64_t grain = std::max<int64_t>(16, grain_rows(rows));  // columns of `rows` values each
  at::parallel_for(0, H, grain, [&](int64_t begin, int64_t end) {
    const int64_t n = end - begin;
    std::vector<double> total(static_cast<size_t>(n), 0.0);
    std::vector<float> block(static_cast<size_t>(n));
    for (int64_t first = 0; first < rows; first += kBlockRows) {
      std::fill(block.begin(), block.end(), 0.0f);
      for (int64_t r = first; r < std::min(rows, first + kBlockRows); ++r) {
        const float *gr = in.g + r * H + begin, *xr = in.x + r * H + begin;
        const float inverse_r = in.inverse[r];
        for (int64_t j = 0; j < n; ++j) block[j] += gr[j] * (xr[j] * inverse_r);
      }
      for (int64_t j = 0; j < n; ++j) total[j] += block[j];
    }
    for (int64_t j = 0; j < n; ++j) dst[begin + j] = static_cast<float>(total[j]);
  });
  return dw;
}

struct RmsNormFunction : public torch::autograd::Function<RmsNormFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight, double eps) {
    at::Tensor inverse;
    at::Tensor y = forward_pass(x, weight, eps, &inverse);
    ctx->save_for_backward({x, weight, inverse});
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const variable_list saved = ctx->get_saved_variables();
    const at::Tensor g = grad_outputs[0].contiguous();
    const Saved in(g, saved[0], saved[1], saved[2]);
    at::Tensor dx, dw;
    if (ctx->needs_input_grad(0)) dx = input_gradient(in, at::empty_like(saved[0], at::MemoryFormat::Contiguous));
    if (ctx->needs_input_grad(1)) dw = weight_gradient(in, at::empty_like(saved[1], at::MemoryFormat::Contiguous));
    return {dx, dw, at::Tensor()};
  }
};

}  // namespace

bool use_rms_norm_kernel(const at::Tensor& x, const at::Tensor& weight) {
  if (!use_cpu_kernels(x) || !weight.device().is_cpu()) return false;
  if (x.scalar_type() != at::kFloat || weight.scalar_type() != at::kFloat) return false;
  if (x.dim() < 1 || weight.dim() != 1 || x.numel() == 0 || weight.size(0) != x.size(-1)) return false;
  return x.is_contiguous() && weight.is_contiguous();
}

at::Tensor rms_norm_kernel(const at::Tensor& x, const at::Tensor& weight, double eps) {
  if (at::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad()))
    return RmsNormFunction::apply(x, weight, eps);
  at::Tensor inverse;
  return forward_pass(x, weight, eps, &inverse);
}

}  // namespace trl
