// Private to libtrl_sdk: the one place where trl-host's code differs between the LibTorch versions it builds
// against, Debian 12's 1.13 and 2.x from the torch wheel (docs/torch2.md). Everything else calls these and
// has no version test of its own. Where the type system can tell the versions apart it does (no #if);
// where a function was removed, one #if on TORCH_VERSION_MAJOR picks the spelling.
#pragma once

#include <string>
#include <type_traits>
#include <utility>

#include <ATen/autocast_mode.h>
#include <ATen/core/Tensor.h>
#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>
#include <c10/util/StringUtil.h>
#include <torch/csrc/api/include/torch/version.h>
#include <torch/optim/optimizer.h>
#if TORCH_VERSION_MAJOR >= 2
#include <ATen/ops/scaled_dot_product_attention.h>
#endif

namespace trl::compat {

/// The key type of torch::optim::Optimizer::state(): std::string in 1.13 (the TensorImpl's address
/// printed), void* (the address itself) in later releases.
using OptimizerStateKey =
    typename std::decay_t<decltype(std::declval<torch::optim::Optimizer&>().state())>::key_type;

/// The key of `parameter`'s entry in Optimizer::state(), as LibTorch's own optimizers compute it. (A
/// template only so that the branch for the other release is discarded, not compiled.)
template <class Key = OptimizerStateKey>
Key optimizer_state_key(const at::Tensor& parameter) {
  void* impl = parameter.unsafeGetTensorImpl();
  if constexpr (std::is_same_v<Key, std::string>) {
    return c10::str(impl);  // 1.13's c10::guts::to_string: operator<< of the pointer
  } else {
    return impl;
  }
}

/// Autocast (mixed precision) on or off for `device` with `dtype` as its lower precision, in this thread.
/// 1.13 has one function per device (set_cpu_enabled, set_autocast_cpu_dtype, set_enabled for CUDA);
/// 2.x takes the device type and removed the old names.
inline void set_autocast(c10::DeviceType device, bool enabled, c10::ScalarType dtype) {
#if TORCH_VERSION_MAJOR >= 2
  at::autocast::set_autocast_enabled(device, enabled);
  at::autocast::set_autocast_dtype(device, dtype);
#else
  if (device == c10::DeviceType::CPU) {
    at::autocast::set_cpu_enabled(enabled);
    at::autocast::set_autocast_cpu_dtype(dtype);
  } else {
    at::autocast::set_enabled(enabled);
    at::autocast::set_autocast_gpu_dtype(dtype);
  }
#endif
}

/// Whether autocast is on for `device` in this thread.
inline bool autocast_enabled(c10::DeviceType device) {
#if TORCH_VERSION_MAJOR >= 2
  return at::autocast::is_autocast_enabled(device);
#else
  return device == c10::DeviceType::CPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
#endif
}

/// Autocast's lower-precision dtype for `device` in this thread.
inline c10::ScalarType autocast_dtype(c10::DeviceType device) {
#if TORCH_VERSION_MAJOR >= 2
  return at::autocast::get_autocast_dtype(device);
#else
  return device == c10::DeviceType::CPU ? at::autocast::get_autocast_cpu_dtype()
                                        : at::autocast::get_autocast_gpu_dtype();
#endif
}

/// Whether LibTorch has a fused scaled_dot_product_attention that takes grouped-query heads (2.x: a fused
/// CPU flash kernel with masks and enable_gqa, and CUDA's flash / memory-efficient kernels). 1.13's is a
/// composite of matmul and softmax without grouped heads, slower than trl-host's own kernels.
inline constexpr bool kFusedAttention = TORCH_VERSION_MAJOR >= 2;

/// softmax(q·kᵀ/sqrt(D) + mask)·v with q (B, Nq, T, D), k and v (B, Nkv, L, D), Nq a multiple of Nkv (query
/// head h uses key/value head h / (Nq/Nkv)), mask additive and broadcastable to (B, Nq, T, L). Only where
/// kFusedAttention.
inline at::Tensor fused_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                  const at::Tensor& mask) {
#if TORCH_VERSION_MAJOR >= 2
  return at::scaled_dot_product_attention(q, k, v, mask, /*dropout_p=*/0.0, /*is_causal=*/false,
                                          /*scale=*/std::nullopt, /*enable_gqa=*/true);
#else
  (void)k, (void)v, (void)mask;
  TORCH_CHECK(false, "fused_attention: LibTorch ", TORCH_VERSION_MAJOR, ".", TORCH_VERSION_MINOR,
              " has no fused attention kernel");
  return q;
#endif
}

}  // namespace trl::compat
