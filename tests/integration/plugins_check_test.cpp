// Black-box tests of `trl-host plugins check`: each fixture fails at the right step with the right
// message, a plugin that segfaults, aborts or hangs at load is reported while the host survives, and the
// exit code is 3 when anything fails.
#include <chrono>
#include <map>

#include <gtest/gtest.h>

#include "host_process.h"
#include "plugins_cli_support.h"

namespace {

using plugins_cli::HostRun;
using plugins_cli::run_host;
using plugins_cli::TempDir;

HostRun check(const TempDir& tmp, const std::vector<std::string>& fixtures, std::vector<std::string> extra = {},
              const std::map<std::string, std::string>& env = {}) {
  const std::string d = tmp.folder("plugins");
  std::vector<std::string> args = {"plugins", "check"};
  for (const std::string& f : fixtures) args.push_back(tmp.add(d, f));
  args.insert(args.end(), extra.begin(), extra.end());
  return run_host(args, tmp.empty(), env);
}

bool has(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

TEST(PluginsCheck, WellFormedPluginPassesEveryStep) {
  TempDir tmp;
  const HostRun r = check(tmp, {"stable"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const char* step : {"pre-load checks", "dlopen", "symbols", "descriptor match", "init", "registrations",
                           "shutdown"})
    EXPECT_TRUE(has(r.out, std::string("  PASS: ") + step + "\n")) << step << "\n" << r.out;
  EXPECT_TRUE(has(r.out, "(fixture_stable 1.2.3, stable)")) << r.out;
  EXPECT_TRUE(has(r.out, "1 checked: 1 passed, 0 failed")) << r.out;
}

TEST(PluginsCheck, EachFailureIsReportedAtItsStep) {
  TempDir tmp;
  const std::string d = tmp.folder("plugins");
  const HostRun r = check(tmp, {"stable", "abi_minor", "missing_dep", "missing_init", "mutating_descriptor",
                                "init_throws", "undeclared", "no_descriptor"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "  FAIL: pre-load checks: refused: SDK ABI minor: plugin built against 1.3, host supports "
                         "up to 1.0\n"))
      << r.out;
  EXPECT_TRUE(has(r.out, "  FAIL: dlopen: libtrl_fixture_gone.so: cannot open shared object file: No such file or "
                         "directory\n"))
      << r.out;
  EXPECT_TRUE(has(r.out, "  FAIL: symbols: " + d + "/fixture_missing_init.so: undefined symbol: trl_plugin_init_v1\n"))
      << r.out;
  EXPECT_TRUE(has(r.out, "  FAIL: descriptor match: the descriptor in memory differs from the file's trl_desc section"))
      << r.out;
  EXPECT_TRUE(has(r.out, "  FAIL: init: trl_plugin_init_v1 returned 1: fixture_init_throws: init failed on purpose\n"))
      << r.out;
  EXPECT_TRUE(has(r.out, "  FAIL: registrations: declared but not registered by init: reward 'declared_b'; "
                         "registered but not declared: reward 'undeclared_c'\n"))
      << r.out;
  EXPECT_TRUE(has(r.out, "  FAIL: pre-load checks: not a plugin: ELF shared object without a trl_desc section"))
      << r.out;
  EXPECT_TRUE(has(r.out, "8 checked: 1 passed, 7 failed")) << r.out;
}

TEST(PluginsCheck, SegfaultAtLoadIsReportedAndTheHostSurvives) {
  TempDir tmp;
  const HostRun r = check(tmp, {"segv_static", "stable"}, {}, {host_process::asan_leaves_segv_alone()});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_TRUE(
      has(r.out, "  FAIL: dlopen: the probe process killed by signal 11 (Segmentation fault) during this step\n"))
      << r.out;
  EXPECT_TRUE(has(r.out, "2 checked: 1 passed, 1 failed")) << "the plugin after the crash is still checked:\n" << r.out;
}

TEST(PluginsCheck, AbortAtLoadShowsSignalAndLastStderr) {
  TempDir tmp;
  const HostRun r = check(tmp, {"abort_static"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "  FAIL: dlopen: the probe process killed by signal 6 (Aborted) during this step\n")) << r.out;
  EXPECT_TRUE(has(r.out, "        stderr: fixture_abort: aborting in a static constructor\n")) << r.out;
}

TEST(PluginsCheck, TextAndTruncatedFilesFailThePreloadChecks) {
  TempDir tmp;
  const std::string d = tmp.folder("plugins");
  const std::string text = tmp.write(d, "text.so", "not a library\n");
  const std::string cut = tmp.truncated(d, "stable", "truncated.so", 5000);
  const HostRun r = run_host({"plugins", "check", text, cut}, tmp.empty());
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(has(r.out, "  FAIL: pre-load checks: not a plugin: not an ELF file")) << r.out;
  EXPECT_TRUE(has(r.out, "  FAIL: pre-load checks: not a plugin: ")) << r.out;
  EXPECT_TRUE(has(r.out, "truncated or corrupt ELF")) << r.out;
}

TEST(PluginsCheck, WorldWritableCopyFailsUnlessAllowed) {
  TempDir tmp;
  const std::string f = tmp.add(tmp.folder("plugins"), "stable", "", 0666);
  const HostRun r = run_host({"plugins", "check", f}, tmp.empty());
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(has(r.out, "  FAIL: pre-load checks: refused: file permissions: plugin file " + f +
                             " is writable by others"))
      << r.out;
  const HostRun allowed = run_host({"--allow-insecure-plugins", "plugins", "check", f}, tmp.empty());
  EXPECT_EQ(allowed.exit_code, 0) << allowed.out << allowed.err;
}

TEST(PluginsCheck, NoArgumentsChecksEverythingDiscovered) {
  TempDir tmp;
  const std::string d = tmp.folder("plugins");
  tmp.add(d, "stable");
  tmp.add(d, "experimental");
  const HostRun r = run_host({"plugins", "check", "--plugin-dir", d}, tmp.empty());
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "2 checked: 2 passed, 0 failed")) << r.out;
  EXPECT_EQ(r.err.find("EXPERIMENTAL"), std::string::npos) << "checking is not using:\n" << r.err;
  const HostRun stable_only = run_host({"--stable-only", "plugins", "check", "--plugin-dir", d}, tmp.empty());
  EXPECT_EQ(stable_only.exit_code, 3);
  EXPECT_TRUE(has(stable_only.out, "  FAIL: pre-load checks: refused: stable-only: plugin is experimental"))
      << stable_only.out;
}

TEST(PluginsCheck, ByNameAndUnknownName) {
  TempDir tmp;
  const std::string d = tmp.folder("plugins");
  tmp.add(d, "stable");
  EXPECT_EQ(run_host({"plugins", "check", "fixture_stable", "--plugin-dir", d}, tmp.empty()).exit_code, 0);
  const HostRun unknown = run_host({"plugins", "check", "fixture_stabl", "--plugin-dir", d}, tmp.empty());
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_TRUE(has(unknown.err, "did you mean 'fixture_stable'?")) << unknown.err;
}

// Slow: the probe must be given time to start the host before the plugin's constructor hangs it.
TEST(PluginsCheckSlow, HangAtLoadIsKilledAtTheTimeout) {
  TempDir tmp;
  const auto start = std::chrono::steady_clock::now();
  const HostRun r = check(tmp, {"hang_static", "stable"}, {"--timeout", "15"});
  const double elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "  FAIL: dlopen: the probe process timed out after 15 s and was killed during this step\n"))
      << r.out;
  EXPECT_TRUE(has(r.out, "2 checked: 1 passed, 1 failed")) << r.out;
  EXPECT_LT(elapsed_s, 60.0);
}

}  // namespace
