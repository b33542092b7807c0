// `trl-host launch --nproc-per-node N [--nnodes M --node-rank R --master-addr A --master-port P] train
// CONFIG [...]`: starts this node's ranks of a data-parallel job, as torchrun does. Each rank is this same
// executable running the given command with RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT
// set (docs/distributed.md). The launcher forwards SIGINT/SIGTERM, and when one rank fails it gives the
// others a grace period to stop on their own (a broken collective fails at once), then terminates them.
// It returns the worst exit code (a rank killed by signal S counts as 128 + S).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli.h"
#include "host_setup.h"
#include "trl/sdk/error.h"
#include "trl/sdk/log.h"

namespace trl::host {
namespace {

using Clock = std::chrono::steady_clock;

struct LaunchOptions {
  int64_t nproc_per_node = 1;
  int64_t nnodes = 1;
  int64_t node_rank = 0;
  std::string master_addr = "127.0.0.1";
  int64_t master_port = 29500;
  double timeout_s = 60.0;
  double grace_period_s = 5.0;
  std::vector<std::string> command;
};

std::atomic<int> g_launcher_signal{0};
extern "C" void record_launcher_signal(int signum) { g_launcher_signal.store(signum); }

// A port nobody listens on now (the kernel's pick for port 0). Another process could take it before rank 0
// binds it; fine for tests and one-node jobs, which is where --master-port 0 is allowed.
uint16_t free_port(const std::string& addr) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error("launch: cannot open a socket to find a free port: " + std::string(std::strerror(errno)));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = 0;
  if (::inet_pton(AF_INET, addr.c_str(), &sa.sin_addr) != 1) sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0;
  ::close(fd);
  if (!ok) throw Error("launch: cannot find a free port on " + addr + ": " + std::strerror(errno));
  return ntohs(sa.sin_port);
}

std::string self_exe() {
  std::vector<char> buf(4096);
  const ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  if (n <= 0) throw Error("launch: cannot find the trl-host executable (/proc/self/exe)");
  return std::string(buf.data(), static_cast<size_t>(n));
}

// The common flags given before `launch` apply to every rank too.
std::vector<std::string> common_flags(const CommonOptions& common) {
  std::vector<std::string> out;
  for (const std::string& f : common.plugin_files) out.insert(out.end(), {"--plugin", f});
  for (const std::string& d : common.plugin_dirs) out.insert(out.end(), {"--plugin-dir", d});
  if (common.stable_only) out.push_back("--stable-only");
  if (common.allow_insecure_plugins) out.push_back("--allow-insecure-plugins");
  out.insert(out.end(), {"--log-level", common.log_level});
  return out;
}

void check_options(const LaunchOptions& o) {
  if (o.nproc_per_node < 1)
    throw ConfigError("launch", "--nproc-per-node", "expected an integer >= 1, got " + std::to_string(o.nproc_per_node));
  if (o.nnodes < 1) throw ConfigError("launch", "--nnodes", "expected an integer >= 1, got " + std::to_string(o.nnodes));
  if (o.node_rank < 0 || o.node_rank >= o.nnodes)
    throw ConfigError("launch", "--node-rank", "expected an integer in [0, " + std::to_string(o.nnodes - 1) +
                                                   "], got " + std::to_string(o.node_rank));
  if (o.master_port < 0 || o.master_port > 65535)
    throw ConfigError("launch", "--master-port", "expected a port in [1, 65535] (0 = any free port, one node only), got " +
                                                     std::to_string(o.master_port));
  if (o.master_port == 0 && o.nnodes > 1)
    throw ConfigError("launch", "--master-port", "0 (any free port) works on one node only; give every node the same "
                                                 "port with --nnodes " + std::to_string(o.nnodes));
  if (!(o.timeout_s > 0)) throw ConfigError("launch", "--timeout", "expected seconds > 0, got " + std::to_string(o.timeout_s));
  if (!(o.grace_period_s >= 0))
    throw ConfigError("launch", "--grace-period", "expected seconds >= 0, got " + std::to_string(o.grace_period_s));
  if (o.command.empty())
    throw ConfigError("launch", "command", "expected the command each rank runs, e.g. `train run.json`, got nothing");
}

struct Rank {
  int64_t rank = 0;
  pid_t pid = -1;
  bool running = true;
  int exit_code = 0;  // 128 + signal for a rank killed by a signal
};

std::string describe_end(int status) {
  if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status));
  return "exited with code " + std::to_string(WEXITSTATUS(status));
}

[[noreturn]] void exec_rank(const std::string& exe, const std::vector<std::string>& args,
                            const std::vector<std::pair<std::string, std::string>>& env, pid_t launcher) {
  // A rank must not outlive its launcher: SIGTERM makes it checkpoint and stop like a forwarded signal.
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != launcher) _exit(1);
  for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
  std::vector<char*> argv;
  std::vector<std::string> copies = args;
  for (std::string& a : copies) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execv(exe.c_str(), argv.data());
  std::fprintf(stderr, "launch: cannot run %s: %s\n", exe.c_str(), std::strerror(errno));
  _exit(127);
}

int run_launch(const CommonOptions& common, LaunchOptions o) {
  apply_common_options(common);
  check_options(o);
  if (o.master_port == 0) o.master_port = free_port(o.master_addr);
  const int64_t world_size = o.nproc_per_node * o.nnodes;
  const std::string exe = self_exe();
  std::vector<std::string> args{exe};
  for (const std::string& a : common_flags(common)) args.push_back(a);
  args.insert(args.end(), o.command.begin(), o.command.end());

  // Threads: the node's cores shared between its ranks (torchrun sets 1), unless the user chose.
  const char* omp = std::getenv("OMP_NUM_THREADS");
  const std::string threads = omp != nullptr && *omp != '\0'
                                  ? std::string(omp)
                                  : std::to_string(std::max<int64_t>(1, physical_cores() / o.nproc_per_node));
  char timeout_text[32];
  std::snprintf(timeout_text, sizeof timeout_text, "%g", o.timeout_s);
  char grace_text[32];
  std::snprintf(grace_text, sizeof grace_text, "%g", o.grace_period_s);

  struct sigaction action {};
  action.sa_handler = record_launcher_signal;
  sigemptyset(&action.sa_mask);
  struct sigaction old_int {}, old_term {};
  ::sigaction(SIGINT, &action, &old_int);
  ::sigaction(SIGTERM, &action, &old_term);
  g_launcher_signal.store(0);

  log::info("launch: " + std::to_string(o.nproc_per_node) + " rank(s) on node " + std::to_string(o.node_rank) + " of " +
            std::to_string(o.nnodes) + ", world size " + std::to_string(world_size) + ", master " + o.master_addr +
            ":" + std::to_string(o.master_port) + ", " + threads + " thread(s) per rank");
  std::vector<Rank> ranks;
  const pid_t launcher = ::getpid();
  for (int64_t local = 0; local < o.nproc_per_node; ++local) {
    Rank r;
    r.rank = o.node_rank * o.nproc_per_node + local;
    const std::vector<std::pair<std::string, std::string>> env{
        {"RANK", std::to_string(r.rank)},
        {"WORLD_SIZE", std::to_string(world_size)},
        {"LOCAL_RANK", std::to_string(local)},
        {"LOCAL_WORLD_SIZE", std::to_string(o.nproc_per_node)},
        {"GROUP_RANK", std::to_string(o.node_rank)},
        {"MASTER_ADDR", o.master_addr},
        {"MASTER_PORT", std::to_string(o.master_port)},
        {"TRL_DIST_TIMEOUT", timeout_text},
        {"OMP_NUM_THREADS", threads}};
    std::fflush(nullptr);  // nothing buffered is written twice by the child
    r.pid = ::fork();
    if (r.pid < 0) throw Error("launch: fork failed: " + std::string(std::strerror(errno)));
    if (r.pid == 0) exec_rank(exe, args, env, launcher);
    log::info("launch: rank " + std::to_string(r.rank) + ": pid " + std::to_string(r.pid));
    ranks.push_back(r);
  }

  // Watch the ranks: forward signals; after the first failure, a grace period, then SIGTERM, then SIGKILL.
  const auto grace = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.grace_period_s));
  const auto kill_after = std::chrono::seconds(5);
  std::optional<Clock::time_point> failed_at;
  bool terminated = false, killed = false;
  int forwarded = 0;
  auto running = [&] { return std::count_if(ranks.begin(), ranks.end(), [](const Rank& r) { return r.running; }); };
  while (running() > 0) {
    const int sig = g_launcher_signal.exchange(0);
    if (sig != 0) {
      forwarded = sig;
      log::warn("launch: forwarding signal " + std::to_string(sig) + " to the ranks");
      for (const Rank& r : ranks)
        if (r.running) ::kill(r.pid, sig);
    }
    for (Rank& r : ranks) {
      if (!r.running) continue;
      int status = 0;
      if (::waitpid(r.pid, &status, WNOHANG) != r.pid) continue;
      r.running = false;
      r.exit_code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
      if (r.exit_code == 0) continue;
      const std::string what = "launch: rank " + std::to_string(r.rank) + " (pid " + std::to_string(r.pid) + ") " +
                               describe_end(status);
      if (!failed_at && forwarded == 0) {
        failed_at = Clock::now();
        log::error(what + "; the other ranks get " + grace_text + " s to stop");
      } else {
        log::warn(what);
      }
    }
    if (failed_at && !terminated && Clock::now() - *failed_at >= grace && running() > 0) {
      log::error("launch: terminating the remaining rank(s) after the grace period");
      for (const Rank& r : ranks)
        if (r.running) ::kill(r.pid, SIGTERM);
      terminated = true;
    }
    if (terminated && !killed && Clock::now() - *failed_at >= grace + kill_after && running() > 0) {
      for (const Rank& r : ranks)
        if (r.running) ::kill(r.pid, SIGKILL);
      killed = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);

  int worst = 0;
  for (const Rank& r : ranks) worst = std::max(worst, r.exit_code);
  if (worst != 0) log::error("launch: the job failed (worst exit code " + std::to_string(worst) + ")");
  return worst;
}

}  // namespace

void add_launch_command(CLI::App& app, const CommonOptions& common, int& exit_code) {
  auto options = std::make_shared<LaunchOptions>();
  auto* cmd = app.add_subcommand("launch", "Start the ranks of a data-parallel job on this node (like torchrun)");
  cmd->add_option("--nproc-per-node", options->nproc_per_node, "Ranks to start on this node")->capture_default_str();
  cmd->add_option("--nnodes", options->nnodes, "Nodes in the job (run the same command on each)")->capture_default_str();
  cmd->add_option("--node-rank", options->node_rank, "This node's index, 0 on the MASTER_ADDR node")->capture_default_str();
  cmd->add_option("--master-addr", options->master_addr, "Address of node 0, where rank 0 serves the rendezvous")
      ->capture_default_str();
  cmd->add_option("--master-port", options->master_port, "Rendezvous port on node 0 (0 = a free port, one node only)")
      ->capture_default_str();
  cmd->add_option("--timeout", options->timeout_s, "Seconds a collective may wait for a peer (TRL_DIST_TIMEOUT)")
      ->capture_default_str();
  cmd->add_option("--grace-period", options->grace_period_s,
                  "Seconds the other ranks get to stop after one fails, before SIGTERM (then SIGKILL 5 s later)")
      ->capture_default_str();
  // Everything from the first positional on (train CONFIG [--set ...]) is the ranks' command, flags included.
  // Not passed up to trl-host's own options either (fallthrough): the common flags go before `launch`.
  cmd->prefix_command();
  cmd->fallthrough(false);
  cmd->footer("The command after the options runs in every rank, e.g.: trl-host launch --nproc-per-node 2 train run.json");
  cmd->callback([&common, &exit_code, options, cmd] {
    LaunchOptions o = *options;
    for (const std::string& extra : cmd->remaining()) o.command.push_back(extra);
    exit_code = run_launch(common, o);
  });
}

}  // namespace trl::host
