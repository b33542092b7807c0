// Running the real trl-host in black-box tests: a private temp folder, a synchronous run that captures
// exit code, stdout and stderr, and a background run that a test can signal. The shipped plugins are
// found as a user's would be (the default folder next to the binary); the variables that steer plugin
// discovery and policy are cleared unless a test sets them.
#pragma once

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace host_process {

/// How a trl-host run ended.
struct Result {
  int exit_code = -1;  ///< the exit status; -1 if killed by a signal
  std::string out;     ///< stdout
  std::string err;     ///< stderr
};

/// The environment entry that keeps AddressSanitizer's runtime away from SIGSEGV, for a test about a
/// process killed by that signal: under tests/sanitizers/env.sh the runtime would catch it, print its
/// report and exit with code 1 instead. A build without the sanitizer ignores the variable.
inline std::pair<std::string, std::string> asan_leaves_segv_alone() {
  const char* options = getenv("ASAN_OPTIONS");
  return {"ASAN_OPTIONS", std::string(options != nullptr ? options : "") + ":handle_segv=0"};
}

/// The whole content of a file ("" if missing).
inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Every non-empty line of a JSON Lines file (metrics.jsonl, completions.jsonl), parsed.
inline std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

/// A fresh private folder under $TMPDIR, removed with its content at scope exit.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    const char* base = getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/trl-" + tag + "-XXXXXX";
    path_ = mkdtemp(pattern.data()) != nullptr ? pattern : std::string();
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  /// The folder, or a path inside it.
  std::string path(const std::string& name = "") const { return name.empty() ? path_ : path_ + "/" + name; }

 private:
  std::string path_;
};

/// Replaces the current process with trl-host (after fork): stdout/stderr to files, a clean policy env.
[[noreturn]] inline void exec_host(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                                   const std::string& out_file, const std::string& err_file) {
  for (const char* name : {"TRL_PLUGIN_PATH", "TRL_PLUGIN_SYSTEM_PATH", "TRL_STABLE_ONLY", "TRL_EXPERIMENTAL_SILENCE"})
    unsetenv(name);
  for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
  if (freopen(out_file.c_str(), "w", stdout) == nullptr || freopen(err_file.c_str(), "w", stderr) == nullptr) _exit(127);
  std::vector<char*> argv;
  std::string exe = TRL_HOST_EXE;
  argv.push_back(exe.data());
  std::vector<std::string> copies = args;
  for (std::string& a : copies) argv.push_back(a.data());
  argv.push_back(nullptr);
  execv(exe.c_str(), argv.data());
  _exit(127);
}

/// A trl-host process running in the background; its output goes to files in `dir`.
class Background {
 public:
  Background(const std::string& dir, const std::vector<std::string>& args,
             const std::map<std::string, std::string>& env = {})
      : out_(dir + "/bg.stdout"), err_(dir + "/bg.stderr") {
    pid_ = fork();
    if (pid_ == 0) exec_host(args, env, out_, err_);
  }
  ~Background() {
    if (pid_ > 0 && !waited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  /// Sends `signal` to the process.
  void signal(int signal) const { kill(pid_, signal); }
  /// Waits for the end; the exit code (-1 if killed by a signal).
  Result wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    waited_ = true;
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out_), slurp(err_)};
  }

 private:
  pid_t pid_ = -1;
  bool waited_ = false;
  std::string out_, err_;
};

/// Runs trl-host to completion in `dir` (for its capture files) with `args` and extra `env`.
inline Result run(const std::string& dir, const std::vector<std::string>& args,
                  const std::map<std::string, std::string>& env = {}) {
  return Background(dir, args, env).wait();
}

/// A tiny random model (init-model --preset tiny --seed 0, as `make demo` makes) shared by the tests of
/// this build, made on first use. Built in a private folder and renamed into place, so parallel test
/// processes never see a half-written model (the loser of the race keeps the winner's).
inline std::string tiny_model() {
  const std::filesystem::path dir = std::filesystem::path(TRL_BINARY_DIR) / "tests" / "tiny-model";
  if (std::filesystem::exists(dir / "model.safetensors")) return dir.string();
  const std::string scratch = dir.string() + ".tmp-" + std::to_string(::getpid());
  std::filesystem::create_directories(scratch);
  const Result made = run(scratch, {"init-model", "--preset", "tiny", "--seed", "0", "--out", scratch + "/model"});
  if (made.exit_code != 0) throw std::runtime_error("init-model failed: " + made.err);
  std::error_code ignored;
  std::filesystem::rename(scratch + "/model", dir, ignored);
  std::filesystem::remove_all(scratch, ignored);
  return dir.string();
}

}  // namespace host_process
