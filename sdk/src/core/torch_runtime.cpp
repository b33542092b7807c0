// Which LibTorch this process runs on, and what it can do here (trl/sdk/torch_runtime.h).
#include "trl/sdk/torch_runtime.h"

#include <dlfcn.h>

#include <map>
#include <mutex>
#include <regex>
#include <utility>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <ATen/Version.h>
#include <c10/util/Exception.h>
#include <torch/csrc/api/include/torch/version.h>

namespace trl {
namespace {

// The file a LibTorch function lives in: the libtorch_cpu.so this process really mapped (RPATH, an
// LD_LIBRARY_PATH or an installed copy may each pick another one than the build saw).
std::string library_of(const void* symbol) {
  Dl_info info{};
  if (dladdr(symbol, &info) == 0 || info.dli_fname == nullptr) return "";
  return info.dli_fname;
}

TorchRuntimeInfo compute_runtime() {
  TorchRuntimeInfo info;
  info.version = TORCH_VERSION;
  info.library_path = library_of(reinterpret_cast<const void*>(&at::show_config));
  // "USE_CUDA=ON" in 1.13's build settings, "USE_CUDA=1" in 2.x's.
  const std::string config = at::show_config();
  info.cuda_compiled =
      config.find("USE_CUDA=ON") != std::string::npos || config.find("USE_CUDA=1,") != std::string::npos;
  // The CUDA hooks are the default (CPU-only) ones until libtorch_cuda.so registers its own; only those
  // answer hasCUDART() with true. hasCUDA() adds that a driver and a device are there.
  const at::CUDAHooksInterface& cuda = at::detail::getCUDAHooks();
  info.cuda_loaded = cuda.hasCUDART();
  info.cuda_devices = info.cuda_loaded && cuda.hasCUDA() ? cuda.getNumGPUs() : 0;
  return info;
}

}  // namespace

std::string TorchRuntimeInfo::describe() const {
  std::string build;
  if (cuda_loaded) {
    build = "CUDA, " + std::to_string(cuda_devices) + " device(s) visible";
  } else if (cuda_compiled) {
    build = "a CUDA build linked without its CUDA backend: CPU only (-DTRL_TORCH_CUDA=ON links libtorch_cuda.so)";
  } else {
    build = "CPU-only build";
  }
  std::string where;
  if (!library_path.empty()) where = " from " + library_path.substr(0, library_path.find_last_of('/'));
  return "LibTorch " + version + " (" + build + ")" + where;
}

const TorchRuntimeInfo& torch_runtime() {
  static const TorchRuntimeInfo info = compute_runtime();
  return info;
}

std::string device_unavailable_reason(const std::string& device) {
  static const std::regex kDevice("cpu|cuda(:([0-9]{1,6}))?");
  std::smatch m;
  if (!std::regex_match(device, m, kDevice)) return "expected cpu, cuda or cuda:N, got \"" + device + "\"";
  if (device == "cpu") return "";
  const TorchRuntimeInfo& rt = torch_runtime();
  if (!rt.cuda_loaded) return "\"" + device + "\" needs LibTorch's CUDA backend, and this trl-host runs " + rt.describe();
  if (rt.cuda_devices == 0)
    return "\"" + device + "\": no CUDA device is visible (driver missing, or CUDA_VISIBLE_DEVICES hides them); " +
           rt.describe();
  if (m[2].matched && std::stoll(m[2].str()) >= rt.cuda_devices)
    return "\"" + device + "\" names a device that does not exist (" + std::to_string(rt.cuda_devices) + " visible)";
  return "";
}

std::string dtype_unsupported_reason(c10::Device device, c10::ScalarType dtype) {
  static std::mutex mutex;
  static std::map<std::pair<c10::DeviceType, c10::ScalarType>, std::string> known;
  const std::lock_guard<std::mutex> lock(mutex);
  const auto key = std::make_pair(device.type(), dtype);
  if (const auto it = known.find(key); it != known.end()) return it->second;
  std::string reason;
  try {
    const at::AutoGradMode grad(true);
    const at::TensorOptions options = at::TensorOptions().dtype(dtype).device(device);
    const at::Tensor x = at::ones({2, 8}, options).requires_grad_(true);
    const at::Tensor w = at::ones({4, 8}, options).requires_grad_(true);
    at::linear(x, w).sum().backward();
  } catch (const c10::Error& e) {
    reason = e.what_without_backtrace();
  }
  known.emplace(key, reason);
  return reason;
}

}  // namespace trl
