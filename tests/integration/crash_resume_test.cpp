// Crash safety of `trl-host train`, black box (issue 10): a short DPO run is killed with SIGKILL again and
// again at seeded random moments (during start-up, between steps, and while a checkpoint folder is being
// written), resumed each time with --resume, and must end with the same final weights, byte for byte, as
// an uninterrupted run with the same thread count. After every kill, each checkpoint-N folder present must
// be complete: a later run trusts whatever checkpoint-N it finds.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "host_process.h"

namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kKills = 21;         // SIGKILLs delivered before the run may finish (issue: at least 20)
constexpr int64_t kMaxSteps = 60;  // optimizer steps: enough that no life can finish the run early
constexpr uint32_t kSeed = 20261125;

/// A trl-host child whose end can be polled, so a kill can be timed against what it writes.
class Child {
 public:
  Child(const std::string& dir, const std::vector<std::string>& args, int serial)
      : out_(dir + "/life" + std::to_string(serial) + ".stdout"), err_(dir + "/life" + std::to_string(serial) + ".stderr") {
    pid_ = fork();
    if (pid_ == 0) host_process::exec_host(args, {{"OMP_NUM_THREADS", "1"}}, out_, err_);
  }
  ~Child() {
    if (pid_ > 0 && !done_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  /// Whether the process has ended (without blocking); its status then is in status().
  bool ended() {
    if (!done_ && ::waitpid(pid_, &status_, WNOHANG) == pid_) done_ = true;
    return done_;
  }
  /// SIGKILL and reap; false if it had already ended on its own.
  bool kill9() {
    if (ended()) return false;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status_, 0);
    done_ = true;
    return WIFSIGNALED(status_) && WTERMSIG(status_) == SIGKILL;
  }
  /// Waits for the natural end; the exit code (-1 if killed by a signal).
  int wait() {
    if (!done_) ::waitpid(pid_, &status_, 0);
    done_ = true;
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
  }
  std::string err() const { return host_process::slurp(err_); }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int status_ = 0;
  bool done_ = false;
  std::string out_, err_;
};

size_t count_lines(const std::string& path) {
  const std::string text = host_process::slurp(path);
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

/// Whether process `pid` has a checkpoint's temporary folder (".tmp-checkpoint-N-PID") in output_dir now.
bool has_tmp_checkpoint(const std::string& output_dir, pid_t pid) {
  const std::string suffix = "-" + std::to_string(pid);
  std::error_code ec;
  for (fs::directory_iterator it(output_dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(".tmp-checkpoint-", 0) == 0 && name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      return true;
  }
  return false;
}

/// The checkpoint-N folders in output_dir; each must hold every file a resume reads.
std::vector<std::string> complete_checkpoints(const std::string& output_dir, std::string& incomplete) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(output_dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind("checkpoint-", 0) != 0) continue;
    for (const char* file : {"trainer_state.json", "model.safetensors", "optimizer.safetensors", "rng_state.safetensors",
                             "config.json", "tokenizer.json"})
      if (!fs::is_regular_file(it->path() / file)) incomplete += name + "/" + file + " missing; ";
    out.push_back(name);
  }
  return out;
}

/// The per-step training metrics (loss etc.) without the wall-clock fields, for comparing two runs.
std::vector<nlohmann::json> step_metrics(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    nlohmann::json j = nlohmann::json::parse(line);
    if (j.contains("train_runtime")) continue;  // the summary line carries timings
    out.push_back(j);
  }
  return out;
}

TEST(CrashResumeSlow, KillNineAtRandomMomentsThenResumeEndsBitIdentical) {
  host_process::TempDir dir("crash-resume");
  const host_process::Result init =
      host_process::run(dir.path(), {"init-model", "--preset", "tiny", "--out", dir.path("model"), "--seed", "1"});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  auto write_config = [&](const std::string& name) {
    const nlohmann::json config = {
        {"trainer", "dpo"},
        {"model", dir.path("model")},
        {"train_dataset", std::string(TRL_TEST_DATA_DIR) + "/../examples/data/prefs_train.jsonl"},
        {"args",
         {{"output_dir", dir.path(name)},
          {"max_steps", kMaxSteps},
          {"per_device_train_batch_size", 2},
          {"max_length", 32},
          {"learning_rate", 1e-3},
          {"logging_steps", 1},
          {"save_steps", 2},
          {"save_total_limit", 2},
          {"num_threads", 1},
          {"seed", 3}}}};
    std::ofstream(dir.path(name + ".json")) << config.dump(2);
    return dir.path(name + ".json");
  };

  // The uninterrupted reference.
  const std::string ref_config = write_config("ref");
  const host_process::Result ref = host_process::run(dir.path(), {"train", ref_config}, {{"OMP_NUM_THREADS", "1"}});
  ASSERT_EQ(ref.exit_code, 0) << ref.err;
  const std::string ref_weights = host_process::slurp(dir.path("ref/model.safetensors"));
  ASSERT_FALSE(ref_weights.empty());

  // The same run, killed kKills times. Three kinds of moment, in turn: a random delay after the start
  // (start-up or the first steps), right after a checkpoint's temporary folder appears (plus 0-3 ms:
  // inside the write or its fsync), and a random delay after a new logged step.
  const std::string config = write_config("run");
  const std::string out = dir.path("run");
  std::mt19937 rng(kSeed);
  int kills = 0, lives = 0, kills_in_checkpoint_write = 0;
  bool finished = false;
  while (!finished) {
    std::string incomplete;
    const bool resume = !complete_checkpoints(out, incomplete).empty();
    std::vector<std::string> args = {"train", config};
    if (resume) args.push_back("--resume");
    const size_t logged_before = count_lines(out + "/metrics.jsonl");
    Child child(dir.path(), args, lives++);
    if (kills >= kKills) {
      const int code = child.wait();
      ASSERT_EQ(code, 0) << child.err();
      finished = true;
      break;
    }
    const int mode = kills % 3;
    const Clock::time_point start = Clock::now();
    const auto deadline = start + std::chrono::seconds(60);
    bool in_write = false;
    if (mode == 0) {
      // A random delay, but never past the second new step: a fast build (LibTorch 2.x) takes only a few
      // milliseconds a step, and 600 ms would let this life finish the whole run.
      const auto at = start + std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 600)(rng));
      while (Clock::now() < at && !child.ended() && count_lines(out + "/metrics.jsonl") < logged_before + 2)
        std::this_thread::sleep_for(std::chrono::microseconds(500));
    } else if (mode == 1) {
      // Until this process's checkpoint temporary appears (a fast disk may let one slip between two
      // polls: then the kill lands a few steps later instead).
      while (!has_tmp_checkpoint(out, child.pid()) && !child.ended() && Clock::now() < deadline &&
             count_lines(out + "/metrics.jsonl") < logged_before + 6)
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 3000)(rng)));
      in_write = has_tmp_checkpoint(out, child.pid());
    } else {
      while (count_lines(out + "/metrics.jsonl") <= logged_before && !child.ended() && Clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 100)(rng)));
    }
    if (child.kill9()) {
      ++kills;
      kills_in_checkpoint_write += in_write;
    } else {
      // It finished before the kill: the run must have ended well, and this is only acceptable once the
      // kills are done (kMaxSteps leaves room for all of them).
      ASSERT_EQ(child.wait(), 0) << child.err();
      FAIL() << "the run finished after only " << kills << " kills";
    }
    // Whatever the moment, every checkpoint-N that exists is complete.
    incomplete.clear();
    complete_checkpoints(out, incomplete);
    ASSERT_TRUE(incomplete.empty()) << "after kill " << kills << ": " << incomplete;
    EXPECT_FALSE(fs::exists(out + "/model.safetensors")) << "a final model appeared before the run ended";
  }
  EXPECT_EQ(kills, kKills);
  EXPECT_GE(kills_in_checkpoint_write, 1) << "no kill landed inside a checkpoint write";

  const std::string weights = host_process::slurp(out + "/model.safetensors");
  EXPECT_EQ(weights.size(), ref_weights.size());
  EXPECT_TRUE(weights == ref_weights) << "final weights differ from the uninterrupted run's";
  // The metric history a resumed run rewrites from its checkpoint equals the uninterrupted one, step by step.
  const std::vector<nlohmann::json> ref_steps = step_metrics(dir.path("ref/metrics.jsonl"));
  const std::vector<nlohmann::json> steps = step_metrics(out + "/metrics.jsonl");
  ASSERT_EQ(steps.size(), ref_steps.size());
  for (size_t i = 0; i < steps.size(); ++i) EXPECT_EQ(steps[i].at("loss"), ref_steps[i].at("loss")) << "step " << i + 1;
  std::string incomplete;
  EXPECT_LE(complete_checkpoints(out, incomplete).size(), 2u) << "save_total_limit 2 not kept";
  std::cout << "[ crash   ] " << kills << " kills (" << kills_in_checkpoint_write << " inside a checkpoint write) over "
            << lives << " runs, final weights identical\n";
}

}  // namespace
