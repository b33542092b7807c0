// The child-process runner behind `plugins check`: exit codes, signals, deadlines, and the three
// captured streams, exercised with /bin/sh so no plugin is involved.
#include <signal.h>

#include <chrono>

#include <gtest/gtest.h>

#include "child_process.h"

namespace {

using trl::host::run_child;

trl::host::ChildResult sh(const std::string& script, double timeout_s = 20.0) {
  return run_child({"/bin/sh", "-c", script}, timeout_s, 3);
}

TEST(ChildProcess, CapturesStreamsAndExitCode) {
  const auto r = sh("echo out; echo err >&2; echo report >&3; exit 7");
  EXPECT_TRUE(r.started);
  EXPECT_TRUE(r.exited);
  EXPECT_EQ(r.exit_code, 7);
  EXPECT_EQ(r.signal, 0);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_EQ(r.report, "report\n");
  EXPECT_EQ(r.describe(), "exit code 7");
}

TEST(ChildProcess, ReportsTheKillingSignal) {
  const auto r = sh("echo before >&2; kill -SEGV $$");
  EXPECT_FALSE(r.exited);
  EXPECT_EQ(r.signal, SIGSEGV);
  EXPECT_EQ(r.describe(), "killed by signal 11 (Segmentation fault)");
  EXPECT_EQ(r.last_err_lines(5), std::vector<std::string>{"before"});
}

TEST(ChildProcess, KillsAtTheDeadline) {
  const auto start = std::chrono::steady_clock::now();
  const auto r = sh("echo started >&3; sleep 30", 0.5);
  const double elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.describe(), "timed out after 0.5 s and was killed");
  EXPECT_EQ(r.report, "started\n") << "what was written before the kill is kept";
  EXPECT_LT(elapsed_s, 10.0);
}

TEST(ChildProcess, KillsGrandchildrenHoldingThePipes) {
  // The background sleep inherits the pipes; killing only the shell would leave them open for 30 s.
  const auto start = std::chrono::steady_clock::now();
  const auto r = sh("sleep 30 & wait", 0.5);
  const double elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_TRUE(r.timed_out);
  EXPECT_LT(elapsed_s, 10.0);
}

TEST(ChildProcess, MissingProgramExits127) {
  const auto r = run_child({"/nonexistent/trl-host"}, 5.0, 3);
  EXPECT_TRUE(r.exited);
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_NE(r.err.find("exec of the probe failed"), std::string::npos) << r.err;
}

TEST(ChildProcess, KeepsOnlyTheLastLinesOfStderr) {
  const auto r = sh("for i in 1 2 3 4 5 6 7; do echo line$i >&2; done");
  EXPECT_EQ(r.last_err_lines(3), (std::vector<std::string>{"line5", "line6", "line7"}));
}

TEST(ChildProcess, LargeOutputDoesNotDeadlock) {
  // Far more than a pipe buffer on every stream at once: the runner must drain them concurrently.
  const auto r = sh("i=0; while [ $i -lt 3000 ]; do echo 0123456789012345678901234567890123456789; "
                    "echo e0123456789012345678901234567890123456789 >&2; i=$((i+1)); done");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.size(), 3000u * 41);
  EXPECT_EQ(r.err.size(), 3000u * 42);
}

}  // namespace
