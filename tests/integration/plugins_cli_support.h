// Helpers for the black-box tests of `trl-host plugins ...`: run the real binary with a controlled
// environment (TRL_PLUGIN_SYSTEM_PATH pointing at an empty folder, so shipped plugins never interfere),
// and build private plugin folders from the fixture plugins.
#pragma once

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace plugins_cli {

/// How a trl-host run ended.
struct HostRun {
  int exit_code = -1;  ///< the process exit status (-1 if killed)
  std::string out;     ///< stdout
  std::string err;     ///< stderr
};

/// build/tests/fixtures/plugins/<name>/fixture_<name>.so
inline std::string fixture(const std::string& name) {
  return std::string(TRL_FIXTURE_PLUGIN_DIR) + "/" + name + "/fixture_" + name + ".so";
}

inline std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// How many times `needle` occurs in `text`.
inline size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

/// A fresh private folder (mode 0700) removed at scope exit, with helpers to fill it with plugins.
class TempDir {
 public:
  TempDir() {
    const char* base = getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/trl-plugins-cli-XXXXXX";
    path_ = mkdtemp(pattern.data()) != nullptr ? pattern : std::string();
    std::filesystem::create_directories(path_ + "/empty");
    ::chmod((path_ + "/empty").c_str(), 0700);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  /// An empty folder, for TRL_PLUGIN_SYSTEM_PATH.
  std::string empty() const { return path_ + "/empty"; }
  /// A sub-folder with `mode`.
  std::string folder(const std::string& name, mode_t mode = 0700) const {
    const std::string p = path_ + "/" + name;
    std::filesystem::create_directories(p);
    ::chmod(p.c_str(), mode);
    return p;
  }
  /// Copies fixture `name` into `folder` as `file` (default: its own file name) with `mode`.
  std::string add(const std::string& folder, const std::string& name, std::string file = "",
                  mode_t mode = 0755) const {
    if (file.empty()) file = "fixture_" + name + ".so";
    const std::string to = folder + "/" + file;
    std::filesystem::copy_file(fixture(name), to, std::filesystem::copy_options::overwrite_existing);
    ::chmod(to.c_str(), mode);
    return to;
  }
  /// Writes `bytes` as `folder/file`.
  std::string write(const std::string& folder, const std::string& file, const std::string& bytes) const {
    const std::string to = folder + "/" + file;
    std::ofstream(to, std::ios::binary) << bytes;
    ::chmod(to.c_str(), 0755);
    return to;
  }
  /// The first `bytes` bytes of fixture `name`, as `folder/file`.
  std::string truncated(const std::string& folder, const std::string& name, const std::string& file,
                        size_t bytes) const {
    return write(folder, file, slurp(fixture(name)).substr(0, bytes));
  }

 private:
  std::string path_;
};

/// Runs trl-host with `args`. The variables that steer discovery and policy are cleared, then `env` is
/// applied; TRL_PLUGIN_SYSTEM_PATH defaults to `system_path` so only the test's plugins are seen.
inline HostRun run_host(const std::vector<std::string>& args, const std::string& system_path,
                        const std::map<std::string, std::string>& env = {}) {
  const std::string base = std::filesystem::path(system_path).parent_path().string();
  static int serial = 0;
  const std::string out_file = base + "/stdout." + std::to_string(++serial);
  const std::string err_file = base + "/stderr." + std::to_string(serial);
  std::string command =
      "env -u TRL_PLUGIN_PATH -u TRL_STABLE_ONLY -u TRL_EXPERIMENTAL_SILENCE -u TRL_FIXTURE_MARKER "
      "TRL_PLUGIN_SYSTEM_PATH=" + quoted(system_path);
  for (const auto& [k, v] : env) command += " " + k + "=" + quoted(v);
  command += " " + quoted(TRL_HOST_EXE);
  for (const std::string& a : args) command += " " + quoted(a);
  command += " >" + quoted(out_file) + " 2>" + quoted(err_file);
  const int status = std::system(command.c_str());
  HostRun run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.out = slurp(out_file);
  run.err = slurp(err_file);
  return run;
}

}  // namespace plugins_cli
