// `trl-host env`: versions, BLAS in use, threads and the plugin search path, for bug reports.
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <thread>

#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <torch/csrc/api/include/torch/version.h>

#include "cli.h"
#include "host_setup.h"
#include "trl/sdk/version.h"

namespace trl::host {
namespace {

// The BLAS shared objects actually mapped into this process (LibTorch's build info cannot tell
// OpenBLAS from the reference BLAS that Debian's alternatives may select).
std::set<std::string> loaded_blas_libraries() {
  std::set<std::string> found;
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    std::string path = line.substr(slash);
    if (path.find("blas") != std::string::npos || path.find("lapack") != std::string::npos ||
        path.find("mkl") != std::string::npos)
      found.insert(path);
  }
  return found;
}

nlohmann::json environment(const CommonOptions& common) {
  nlohmann::json j;
  j["trl_host_version"] = TRL_HOST_VERSION;
  j["sdk_abi"] = std::to_string(TRL_SDK_ABI_MAJOR) + "." + std::to_string(TRL_SDK_ABI_MINOR) + "." +
                 std::to_string(TRL_SDK_ABI_PATCH);
  j["libtorch"] = TORCH_VERSION;
  j["cxx11_abi"] = _GLIBCXX_USE_CXX11_ABI;
#if defined(__clang__)
  j["compiler"] = "clang " __clang_version__;
#else
  j["compiler"] = "gcc " __VERSION__;
#endif
  j["blas_libraries"] = loaded_blas_libraries();
  j["intra_op_threads"] = at::get_num_threads();
  j["hardware_threads"] = std::thread::hardware_concurrency();
  j["plugin_search_path"] = describe_search_path(common);
  return j;
}

}  // namespace

void add_env_command(CLI::App& app, const CommonOptions& common, int& exit_code) {
  auto* cmd = app.add_subcommand("env", "Print versions, BLAS library, threads and plugin search path");
  auto json_flag = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json_flag, "Print one JSON object on stdout");
  cmd->callback([&common, &exit_code, json_flag] {
    apply_common_options(common);
    nlohmann::json j = environment(common);
    if (*json_flag) {
      std::cout << j.dump(2) << "\n";
    } else {
      std::cout << "trl-host " << j["trl_host_version"].get<std::string>() << "\n"
                << "SDK ABI:          " << j["sdk_abi"].get<std::string>() << "\n"
                << "LibTorch:         " << j["libtorch"].get<std::string>() << "\n"
                << "C++ ABI:          cxx11=" << j["cxx11_abi"] << ", " << j["compiler"].get<std::string>() << "\n"
                << "BLAS in use:      ";
      if (j["blas_libraries"].empty()) std::cout << "(none mapped yet)";
      for (const auto& lib : j["blas_libraries"]) std::cout << lib.get<std::string>() << " ";
      std::cout << "\n"
                << "Intra-op threads: " << j["intra_op_threads"] << " (hardware threads: " << j["hardware_threads"]
                << ")\n"
                << "Plugin search path:\n";
      for (const auto& entry : j["plugin_search_path"]) std::cout << "  " << entry.get<std::string>() << "\n";
    }
    exit_code = kExitOk;
  });
}

}  // namespace trl::host
