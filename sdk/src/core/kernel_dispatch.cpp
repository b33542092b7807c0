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

ScopedGenericKernels::ScopedGenericKernels() : previous_(generic_forced.exchange(true)) {}

ScopedGenericKernels::~ScopedGenericKernels() { generic_forced.store(previous_); }

}  // namespace trl
