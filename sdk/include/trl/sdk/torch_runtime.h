// trl/sdk/torch_runtime.h: which LibTorch this process runs on, and whether it can run a device or a dtype.
//
// trl-host builds against Debian 12's LibTorch 1.13 or LibTorch 2.x from the torch wheel (docs/torch2.md), and
// the wheel's libraries may be linked with or without their CUDA backend. Config checks ask these functions
// at run time, so one binary refuses what its own LibTorch cannot do, before any model is loaded, and says
// which LibTorch that is.
#pragma once

#include <string>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

namespace trl {

/// The LibTorch this process runs on.
struct TorchRuntimeInfo {
  std::string version;       ///< TORCH_VERSION the SDK was compiled against, e.g. "1.13.1" or "2.15.0"
  std::string library_path;  ///< the libtorch_cpu.so mapped into this process (absolute); empty if not found
  bool cuda_compiled = false;  ///< LibTorch's build configuration says USE_CUDA=ON
  bool cuda_loaded = false;    ///< LibTorch's CUDA backend (libtorch_cuda.so) is loaded in this process
  int cuda_devices = 0;        ///< CUDA devices usable now; 0 without the backend or without a driver

  /// One line for messages and `trl-host env`, e.g. "LibTorch 1.13.1 (CPU-only build) from /usr/lib/x86_64-linux-gnu".
  std::string describe() const;
};

/// This process's LibTorch (computed once).
const TorchRuntimeInfo& torch_runtime();

/// Empty when tensors can be placed on `device` ("cpu", "cuda" or "cuda:N"), else why not, naming the
/// LibTorch build (no CUDA backend, no device visible, an index past the device count).
std::string device_unavailable_reason(const std::string& device);

/// Empty when a linear layer (forward and backward, the matmul kernels a model needs) runs in `dtype` on
/// `device` with this LibTorch, else LibTorch's reason. Found by running a 2×8 · 8×4 one the first time
/// (cached per device type and dtype). `device` must be available (device_unavailable_reason).
std::string dtype_unsupported_reason(c10::Device device, c10::ScalarType dtype);

}  // namespace trl
