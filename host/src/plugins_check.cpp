// `trl-host plugins check [NAME|FILE...]`: every plugin loaded in its own child process with a deadline,
// PASS / FAIL per step, so third-party authors can run it in CI (spec/plugin-abi.md 3.8).
#include <iostream>

#include <boost/dll/runtime_symbol_info.hpp>

#include "plugin_checks.h"
#include "plugin_discovery.h"
#include "plugin_probe.h"
#include "plugins_command.h"

namespace trl::host {
namespace {

std::string title(const PluginCandidate& c) {
  if (!c.has_descriptor() || c.name.empty()) return c.path;
  const trl_plugin_descriptor& d = c.descriptor();
  return c.path + " (" + c.name + " " + fixed_text(d.version, sizeof d.version).value_or("?") + ", " +
         stability_name(d.stability) + ")";
}

}  // namespace

int run_plugins_check(const CommonOptions& common, const std::vector<std::string>& targets, double timeout_s) {
  const PluginPolicy policy = policy_from(common);
  const Discovery discovery = discover_plugins(plugin_search_path(common), policy);
  std::vector<PluginCandidate> todo;
  // Named targets are checked even when shadowed: the probe runs in its own process, so no second copy
  // of a plugin ever shares an address space with the first.
  const bool all = targets.empty();
  if (all) {
    todo = discovery.plugins;
  } else {
    for (const std::string& t : targets) todo.push_back(resolve_plugin_target(discovery, t, policy));
  }
  if (todo.empty()) {
    std::cout << "no plugin files found on the search path\n";
    return kExitOk;
  }

  const std::string exe = boost::dll::program_location().string();
  int passed = 0, failed = 0, skipped = 0;
  for (const PluginCandidate& c : todo) {
    std::cout << "check " << title(c) << "\n";
    if (all && c.status == PluginStatus::shadowed) {
      std::cout << "  SKIP: shadowed by " << c.shadowed_by << " (never loaded)\n";
      ++skipped;
      continue;
    }
    const ProbeOutcome outcome = probe_plugin(exe, c.path, common, timeout_s);
    for (const ProbeStep& s : outcome.steps) {
      if (s.pass) {
        std::cout << "  PASS: " << s.step << "\n";
        continue;
      }
      std::cout << "  FAIL: " << s.step << ": " << s.message << "\n";
      for (const std::string& line : s.stderr_tail) std::cout << "        stderr: " << line << "\n";
    }
    std::cout << "  result: " << (outcome.passed ? "PASS" : "FAIL") << "\n";
    (outcome.passed ? passed : failed) += 1;
    std::cout.flush();
  }
  std::cout << passed + failed << " checked: " << passed << " passed, " << failed << " failed";
  if (skipped > 0) std::cout << ", " << skipped << " skipped";
  std::cout << "\n";
  return failed > 0 ? kExitPlugin : kExitOk;
}

}  // namespace trl::host
