// `trl-host env`: what to paste into a bug report. Versions (host, commit, SDK ABI, LibTorch, compiler),
// the BLAS really in use and its threads, the thread default, CPU (with ATen's SIMD level), memory, CUDA,
// OS, the environment variables that change behaviour, and every plugin discovery finds with its
// version, stability tag and status. No plugin code runs (descriptors are read from files).
#include <dlfcn.h>
#include <sys/utsname.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <thread>

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <torch/csrc/api/include/torch/version.h>

#include "cli.h"
#include "host_setup.h"
#include "plugin_discovery.h"
#include "plugin_summary.h"
#include "trl/sdk/torch_runtime.h"
#include "trl/sdk/version.h"

#ifndef TRL_GIT_COMMIT
#define TRL_GIT_COMMIT "unknown"
#endif

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

// OpenBLAS describes itself (version, target core, threading); looked up at run time, since the BLAS
// behind libblas.so.3 is whatever Debian's alternatives chose. Null when the BLAS is not OpenBLAS.
nlohmann::json openblas_info() {
  using GetConfig = char* (*)();
  using GetThreads = int (*)();
  auto get_config = reinterpret_cast<GetConfig>(dlsym(RTLD_DEFAULT, "openblas_get_config"));
  auto get_threads = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  auto get_core = reinterpret_cast<GetConfig>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (get_config == nullptr) return nullptr;
  nlohmann::json j;
  j["config"] = get_config();
  j["core"] = get_core != nullptr ? nlohmann::json(get_core()) : nlohmann::json();
  j["threads"] = get_threads != nullptr ? nlohmann::json(get_threads()) : nlohmann::json();
  return j;
}

// One "KEY=value" of LibTorch's build configuration ("BLAS_INFO=open": the BLAS it was built against).
std::string torch_build_setting(const std::string& key) {
  const std::string config = at::show_config();
  const size_t at = config.find(key + "=");
  if (at == std::string::npos) return "unknown";
  const size_t begin = at + key.size() + 1;
  const size_t end = config.find_first_of(", \n", begin);
  return config.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

// "CPU capability usage: AVX2" from show_config(): the SIMD kernels ATen dispatches to on this CPU
// (ATEN_CPU_CAPABILITY can lower it), which decides much of the speed of elementwise ops.
std::string torch_cpu_capability() {
  const std::string config = at::show_config();
  const std::string label = "CPU capability usage: ";
  const size_t at = config.find(label);
  if (at == std::string::npos) return "unknown";
  const size_t end = config.find('\n', at);
  return config.substr(at + label.size(), end == std::string::npos ? std::string::npos : end - at - label.size());
}

// CUDA as LibTorch sees it: built with it or not, its backend linked in or not (the torch wheel's CPU
// libraries alone are a CUDA build without it), and how many devices it finds now.
nlohmann::json cuda_info() {
  const TorchRuntimeInfo& rt = torch_runtime();
  nlohmann::json j;
  j["built"] = rt.cuda_compiled;
  j["backend_loaded"] = rt.cuda_loaded;
  j["available"] = rt.cuda_devices > 0;
  j["devices"] = rt.cuda_devices;
  return j;
}

// MemTotal and MemAvailable of /proc/meminfo in MiB (null when unreadable): an out-of-memory report
// needs them.
nlohmann::json memory_mib(const std::string& field) {
  std::ifstream meminfo("/proc/meminfo");
  std::string line;
  while (std::getline(meminfo, line)) {
    if (line.rfind(field + ":", 0) != 0) continue;
    try {
      return std::stoll(line.substr(field.size() + 1)) / 1024;  // the file says kB
    } catch (const std::exception&) {
      return nullptr;
    }
  }
  return nullptr;
}

// The environment variables that change what trl-host does, those that are set.
nlohmann::json relevant_environment() {
  nlohmann::json j = nlohmann::json::object();
  for (const char* name : {"TRL_PLUGIN_PATH", "TRL_PLUGIN_SYSTEM_PATH", "TRL_STABLE_ONLY", "TRL_EXPERIMENTAL_SILENCE",
                           "TENSORBOARD_LOGGING_DIR", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "ATEN_CPU_CAPABILITY",
                           "CUDA_VISIBLE_DEVICES", "RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
                           "TRL_DIST_TIMEOUT", "TRL_PLUGIN_PROBE_TIMEOUT", "OMP_WAIT_POLICY",
                           "GOMP_SPINCOUNT", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "TRL_SIDE_BY_SIDE"})
    if (const char* value = std::getenv(name)) j[name] = value;
  return j;
}

std::string cpu_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0 || line.rfind("Model", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  }
  return "unknown";
}

std::string os_name() {
  std::ifstream release("/etc/os-release");
  std::string line, pretty = "unknown OS";
  while (std::getline(release, line)) {
    if (line.rfind("PRETTY_NAME=", 0) != 0) continue;
    pretty = line.substr(12);
    if (pretty.size() >= 2 && pretty.front() == '"' && pretty.back() == '"') pretty = pretty.substr(1, pretty.size() - 2);
  }
  struct utsname u {};
  if (uname(&u) == 0) pretty += std::string(", ") + u.sysname + " " + u.release + " " + u.machine;
  return pretty;
}

nlohmann::json plugins_json(const CommonOptions& common) {
  nlohmann::json list = nlohmann::json::array();
  const Discovery discovery = discover_plugins(common);
  for (const PluginCandidate& c : discovery.plugins) {
    nlohmann::json entry = candidate_json(c);
    entry["status_text"] = c.status_text();
    list.push_back(entry);
  }
  return list;
}

nlohmann::json environment(const CommonOptions& common) {
  nlohmann::json j;
  j["trl_host_version"] = TRL_HOST_VERSION;
  j["git_commit"] = TRL_GIT_COMMIT;
  j["sdk_abi"] = std::to_string(TRL_SDK_ABI_MAJOR) + "." + std::to_string(TRL_SDK_ABI_MINOR) + "." +
                 std::to_string(TRL_SDK_ABI_PATCH);
  j["libtorch"] = TORCH_VERSION;
  j["libtorch_library"] = torch_runtime().library_path;  // the libtorch_cpu.so really mapped
  j["libtorch_description"] = torch_runtime().describe();
  j["cxx11_abi"] = _GLIBCXX_USE_CXX11_ABI;
#if defined(__clang__)
  j["compiler"] = "clang " __clang_version__;
#else
  j["compiler"] = "gcc " __VERSION__;
#endif
  j["blas_libraries"] = loaded_blas_libraries();
  j["libtorch_build_blas"] = torch_build_setting("BLAS_INFO");
  j["cpu_capability"] = torch_cpu_capability();
  j["cuda"] = cuda_info();
  j["openblas"] = openblas_info();
  j["intra_op_threads"] = at::get_num_threads();
  j["default_threads"] = default_threads();
  const char* omp = std::getenv("OMP_NUM_THREADS");
  j["omp_num_threads_env"] = omp != nullptr ? nlohmann::json(omp) : nlohmann::json();
  j["cpu_model"] = cpu_model();
  j["physical_cores"] = physical_cores();
  j["hardware_threads"] = std::thread::hardware_concurrency();
  j["memory_total_mib"] = memory_mib("MemTotal");
  j["memory_available_mib"] = memory_mib("MemAvailable");
  j["os"] = os_name();
  j["environment"] = relevant_environment();
  j["plugin_search_path"] = describe_search_path(common);
  j["plugins"] = plugins_json(common);
  return j;
}

std::string text_or(const nlohmann::json& value, const std::string& fallback) {
  return value.is_string() ? value.get<std::string>() : value.is_null() ? fallback : value.dump();
}

void print_text(const nlohmann::json& j) {
  std::cout << "trl-host " << j["trl_host_version"].get<std::string>() << " (commit "
            << j["git_commit"].get<std::string>() << ")\n"
            << "SDK ABI:          " << j["sdk_abi"].get<std::string>() << "\n"
            << "LibTorch:         " << j["libtorch_description"].get<std::string>() << "; built with BLAS "
            << j["libtorch_build_blas"].get<std::string>() << "\n"
            << "C++ ABI:          cxx11=" << j["cxx11_abi"] << ", " << j["compiler"].get<std::string>() << "\n"
            << "BLAS in use:      ";
  if (j["blas_libraries"].empty()) std::cout << "(none mapped)";
  for (const auto& lib : j["blas_libraries"]) std::cout << lib.get<std::string>() << " ";
  std::cout << "\n";
  if (j["openblas"].is_null()) {
    std::cout << "OpenBLAS:         not in use (a reference BLAS is much slower: install libopenblas0-pthread)\n";
  } else {
    std::cout << "OpenBLAS:         " << text_or(j["openblas"]["config"], "?") << "; core "
              << text_or(j["openblas"]["core"], "?") << "; " << text_or(j["openblas"]["threads"], "?")
              << " threads\n";
  }
  std::cout << "Threads:          " << j["intra_op_threads"] << " intra-op now, default " << j["default_threads"]
            << " (OMP_NUM_THREADS=" << text_or(j["omp_num_threads_env"], "unset") << ")\n"
            << "CPU:              " << j["cpu_model"].get<std::string>() << ", " << j["physical_cores"]
            << " physical cores, " << j["hardware_threads"] << " hardware threads; ATen kernels "
            << j["cpu_capability"].get<std::string>() << "\n"
            << "Memory:           " << text_or(j["memory_total_mib"], "?") << " MiB total, "
            << text_or(j["memory_available_mib"], "?") << " MiB available\n"
            << "CUDA:             "
            << (j["cuda"]["backend_loaded"].get<bool>()
                    ? "backend loaded, " + j["cuda"]["devices"].dump() + " device(s) found"
                    : j["cuda"]["built"].get<bool>()
                          ? std::string("LibTorch is a CUDA build, its CUDA backend is not linked (CPU only)")
                          : std::string("not built into this LibTorch (CPU only)"))
            << "\n"
            << "OS:               " << j["os"].get<std::string>() << "\n"
            << "Environment:      ";
  if (j["environment"].empty()) std::cout << "(no TRL_*, TENSORBOARD_*, thread or rank variables set)";
  for (const auto& [name, value] : j["environment"].items()) std::cout << name << "=" << value.get<std::string>() << " ";
  std::cout << "\n"
            << "Plugin search path:\n";
  for (const auto& entry : j["plugin_search_path"]) std::cout << "  " << entry.get<std::string>() << "\n";
  std::cout << "Plugins:\n";
  if (j["plugins"].empty()) std::cout << "  (none found)\n";
  for (const auto& p : j["plugins"]) {
    std::cout << "  " << text_or(p["name"], "?") << " " << text_or(p["version"], "?") << " ["
              << text_or(p["stability"], "?") << "] " << p["status_text"].get<std::string>() << "  "
              << p["path"].get<std::string>() << "\n";
  }
}

}  // namespace

void add_env_command(CLI::App& app, const CommonOptions& common, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "env", "Print what a bug report needs: versions, commit, BLAS, threads, CPU, OS, plugins with tags");
  auto json_flag = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json_flag, "Print one JSON object on stdout");
  cmd->callback([&common, &exit_code, json_flag] {
    apply_common_options(common);
    const nlohmann::json j = environment(common);
    if (*json_flag) {
      std::cout << j.dump(2) << "\n";
    } else {
      print_text(j);
    }
    exit_code = kExitOk;
  });
}

}  // namespace trl::host
