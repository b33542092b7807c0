// Common-option handling and the plugin search path.
#include "host_setup.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include <fstream>
#include <set>
#include <thread>
#include <utility>

#include <ATen/Parallel.h>
#include <boost/dll/runtime_symbol_info.hpp>

#include "trl/sdk/log.h"

namespace trl::host {
namespace fs = std::filesystem;

int physical_cores() {
  // Distinct (physical id, core id) pairs; SMT siblings share one. Falls back to hardware threads.
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::set<std::pair<std::string, std::string>> cores;
  std::string line, physical = "0";
  while (std::getline(cpuinfo, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
    std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    if (key == "physical id") physical = value;
    if (key == "core id") cores.insert({physical, value});
  }
  if (!cores.empty()) return static_cast<int>(cores.size());
  return std::max(1u, std::thread::hardware_concurrency());
}

int default_threads() {
  // OMP_NUM_THREADS, the variable every LibTorch/PyTorch user knows, wins when it is a positive number.
  if (const char* omp = std::getenv("OMP_NUM_THREADS")) {
    char* end = nullptr;
    const long n = std::strtol(omp, &end, 10);
    if (end != omp && *end == '\0' && n > 0) return static_cast<int>(n);
  }
  return physical_cores();
}

void apply_common_options(const CommonOptions& common) {
  log::set_level(log::parse_level(common.log_level, "--log-level"));
  // LibTorch may start with a single intra-op thread here; use every physical core unless told otherwise.
  at::set_num_threads(default_threads());
}

namespace {

std::vector<std::string> split_colon_list(const char* value) {
  std::vector<std::string> out;
  if (value == nullptr) return out;
  std::string text = value;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(':', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string absolute(const std::string& path) { return fs::absolute(fs::path(path)).lexically_normal().string(); }

}  // namespace

std::string executable_dir() { return boost::dll::program_location().parent_path().string(); }

std::vector<SearchEntry> plugin_search_path(const CommonOptions& common) {
  std::vector<SearchEntry> out;
  for (const std::string& f : common.plugin_files) out.push_back({absolute(f), true, "--plugin"});
  for (const std::string& d : common.plugin_dirs) out.push_back({absolute(d), false, "--plugin-dir"});
  for (const std::string& d : split_colon_list(std::getenv("TRL_PLUGIN_PATH")))
    out.push_back({absolute(d), false, "TRL_PLUGIN_PATH"});
  const char* system_path = std::getenv("TRL_PLUGIN_SYSTEM_PATH");
  if (system_path != nullptr) {
    for (const std::string& d : split_colon_list(system_path))
      out.push_back({absolute(d), false, "TRL_PLUGIN_SYSTEM_PATH"});
  } else {
    out.push_back({(fs::path(executable_dir()) / ".." / "lib" / "trl" / "plugins").lexically_normal().string(), false,
                   "default"});
  }
  return out;
}

std::vector<std::string> describe_search_path(const CommonOptions& common) {
  std::vector<std::string> lines;
  for (const SearchEntry& e : plugin_search_path(common)) lines.push_back(e.path + " (" + e.origin + ")");
  return lines;
}

}  // namespace trl::host
