// The attention core, one (row, key/value head) slice at a time, with its own backward pass
// (causal_lm_impl.h: sliced_attention).
//
// Why: LibTorch 1.13 without MKL runs bmm as one BLAS call per batch item, each split across
// OpenBLAS' threads. At the bench's large preset (B 8, 4 key/value heads, 2 query heads each, T 256,
// D 64) those are 32 small sgemms per matmul, and the op profile of a DPO step put aten::bmm at 42% of
// the step's time for 6% of its FLOPs: every call pays OpenBLAS' thread hand-off, and on a loaded
// machine waits for a descheduled partner. Here the slices are spread over ATen's intra-op threads
// with OpenBLAS on one thread, and each slice's scores, mask, softmax and product (512 × 256 floats,
// cache-sized) are done before the next one starts. Measured in bench/ (docs/performance.md).
//
// Per slice, with P = softmax(Q Kᵀ + M) (rows G·T, keys L) and dO the output's gradient:
//   dV = Pᵀ dO    dS = P ⊙ (dO Vᵀ − rowsum(P ⊙ dO Vᵀ))    dQ = dS K    dK = dSᵀ Q
#include <functional>
#include <optional>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/autograd/custom_function.h>

#include "causal_lm_impl.h"
#include "core/blas_threads.h"

namespace trl {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

/// Runs body(b, h) for every row b < B and key/value head h < H, spread over ATen's intra-op threads with
/// OpenBLAS on one thread (its own split of each small matmul is what this avoids). The workers take the
/// caller's inference mode; the tensors they touch are detached, so nothing is recorded for autograd.
/// This file is compiled with OpenMP (sdk/CMakeLists.txt); without it at::parallel_for would run every slice on
/// the calling thread. Each slice is computed whole by one thread, so results do not depend on the thread count.
void for_each_slice(int64_t B, int64_t H, const std::function<void(int64_t, int64_t)>& body) {
  const bool inference = c10::InferenceMode::is_enabled();
  const bool parallel = at::get_num_threads() > 1 && !at::in_parallel_region();
  const std::optional<ScopedBlasThreads> blas = parallel ? std::make_optional<ScopedBlasThreads>(1) : std::nullopt;
  at::parallel_for(0, B * H, 1, [&](int64_t begin, int64_t end) {
    const c10::InferenceMode mode(inference);
    for (int64_t i = begin; i < end; ++i) body(i / H, i % H);
  });
}

/// softmax(q kᵀ + mask) v per slice: q (B, H, G·T, D), k and v (B, H, L, D), mask (B, 1, T, L) additive,
/// all detached; returns (B, H, G·T, D). Writes the probabilities into `probs` (B, H, G·T, L) when
/// it is defined (the backward pass needs them), else keeps one slice's at a time.
at::Tensor attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask_in,
                  const at::Tensor& probs) {
  const int64_t B = q.size(0), H = q.size(1), GT = q.size(2), D = q.size(3), L = k.size(2);
  const int64_t T = mask_in.size(2), G = GT / T;
  const at::Tensor mask = mask_in.expand({B, 1, T, L});
  at::Tensor out = at::empty({B, H, GT, D}, q.options());
  for_each_slice(B, H, [&](int64_t b, int64_t h) {
    const at::Tensor scores = at::mm(q[b][h], k[b][h].t());
    scores.view({G, T, L}).add_(mask[b][0]);
    at::Tensor p = probs.defined() ? probs[b][h] : at::empty_like(scores);
    at::_softmax_out(p, scores, -1, false);
    at::Tensor o = out[b][h];
    at::mm_out(o, p, v[b][h]);
  });
  return out;
}

struct SlicedAttention : public torch::autograd::Function<SlicedAttention> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& q_in, const at::Tensor& k_in,
                            const at::Tensor& v_in, const at::Tensor& mask) {
    const at::Tensor q = q_in.detach().contiguous(), k = k_in.detach().contiguous(), v = v_in.detach().contiguous();
    const at::Tensor probs = at::empty({q.size(0), q.size(1), q.size(2), k.size(2)}, q.options());
    at::Tensor out = attend(q, k, v, mask.detach(), probs);
    ctx->save_for_backward({q, k, v, probs});
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const variable_list saved = ctx->get_saved_variables();
    const at::Tensor &q = saved[0], &k = saved[1], &v = saved[2], &probs = saved[3];
    const at::Tensor grad_out = grad_outputs[0].contiguous();
    at::Tensor grad_q = at::empty_like(q), grad_k = at::empty_like(k), grad_v = at::empty_like(v);
    for_each_slice(q.size(0), q.size(1), [&](int64_t b, int64_t h) {
      const at::Tensor p = probs[b][h], d_out = grad_out[b][h];
      at::Tensor dv = grad_v[b][h], dq = grad_q[b][h], dk = grad_k[b][h];
      at::mm_out(dv, p.t(), d_out);
      const at::Tensor d_scores = at::_softmax_backward_data(at::mm(d_out, v[b][h].t()), p, -1, p.scalar_type());
      at::mm_out(dq, d_scores, k[b][h]);
      at::mm_out(dk, d_scores.t(), q[b][h]);
    });
    return {grad_q, grad_k, grad_v, at::Tensor()};
  }
};

}  // namespace

at::Tensor sliced_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask) {
  const bool differentiable =
      at::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad());
  if (differentiable) return SlicedAttention::apply(q, k, v, mask);
  // Without a backward pass (reference model, generation): no graph, and one slice's probabilities at a time.
  return attend(q.detach().contiguous(), k.detach().contiguous(), v.detach().contiguous(), mask.detach(), at::Tensor());
}

}  // namespace trl
