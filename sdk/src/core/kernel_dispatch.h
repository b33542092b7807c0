// Private to libtrl_sdk: which tensors take trl-host's CPU-specific kernels and which take LibTorch's
// device-generic ops.
//
// The CPU kernels (sliced attention, fused AdamW, bulk Exp(1) draws and the sampling race from their words,
// the decode step's norms / attention / SwiGLU, the rotary embedding, the training step's RMSNorm, OpenBLAS
// thread control) exist for speed on the CPU; a tensor on any other device (CUDA) takes the generic LibTorch
// ops, which run wherever LibTorch runs. Each kernel asks use_cpu_kernels() with its tensor's device, and
// nothing else, so the choice is in one place; tests force the generic path on the CPU to check it against the
// CPU kernel.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

namespace trl {

/// True when `device` is the CPU and the generic path is not forced (ScopedGenericKernels).
bool use_cpu_kernels(c10::Device device);

/// use_cpu_kernels(t.device()).
inline bool use_cpu_kernels(const at::Tensor& t) { return use_cpu_kernels(t.device()); }

/// Whether autocast (bf16 mixed precision, train/autocast_scope.h) is on for `device` in this thread: a CPU
/// kernel written for float32 (sliced attention) then leaves the ops to autocast's dispatch.
bool autocast_active(c10::Device device);

/// The lower-precision dtype autocast runs matmuls in on `device` (bfloat16 by default on the CPU); meaningful
/// while autocast_active(device). Kernels that do their own matmuls (token_stats' lm_head) follow it.
c10::ScalarType autocast_matmul_dtype(c10::Device device);

/// Whether attention takes LibTorch's fused scaled_dot_product_attention (LibTorch 2.x, any device): then
/// fused_attention() below; otherwise trl-host's own kernels (the per-slice CPU kernel, the batched ops).
bool use_fused_attention();

/// softmax(q·kᵀ/sqrt(D) + mask)·v by LibTorch's fused kernel, grouped-query heads included (core/torch_compat.h).
at::Tensor fused_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask);

/// For tests: while alive, every CPU-specific kernel takes its device-generic path on the CPU too
/// (process-wide; restores the previous setting).
class ScopedGenericKernels {
 public:
  ScopedGenericKernels();
  ~ScopedGenericKernels();
  ScopedGenericKernels(const ScopedGenericKernels&) = delete;
  ScopedGenericKernels& operator=(const ScopedGenericKernels&) = delete;

 private:
  bool previous_;
};

}  // namespace trl
