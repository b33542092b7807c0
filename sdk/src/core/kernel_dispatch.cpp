// CPU-specific kernels or LibTorch's device-generic ops (kernel_dispatch.h).
#include "core/kernel_dispatch.h"

#include <atomic>

#include "core/torch_compat.h"

namespace trl {
namespace {

std::atomic<bool> generic_forced{false};

}  // namespace

bool use_cpu_kernels(c10::Device device) { return device.is_cpu() && !generic_forced.load(std::memory_order_relaxed); }

bool autocast_active(c10::Device device) { return compat::autocast_enabled(device.type()); }

c10::ScalarType autocast_matmul_dtype(c10::Device device) { return compat::autocast_dtype(device.type()); }

bool use_fused_attention() { return compat::kFusedAttention; }

at::Tensor fused_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask) {
  return compat::fused_attention(q, k, v, mask);
}

ScopedGenericKernels::ScopedGenericKernels() : previous_(generic_forced.exchange(true)) {}

ScopedGenericKernels::~ScopedGenericKernels() { generic_forced.store(previous_); }

}  // namespace trl
