// `trl-host plugins info NAME|FILE [--json]`: one plugin in detail (spec/plugin-abi.md 3.8). The rules
// are evaluated on the descriptor read from the file; only a plugin that passes them is loaded, and
// then in a child process (the probe), so even `info` on a crashing plugin leaves the host standing.
#include <sys/stat.h>

#include <ctime>
#include <iostream>

#include <boost/dll/runtime_symbol_info.hpp>
#include <nlohmann/json.hpp>

#include "plugin_checks.h"
#include "plugin_discovery.h"
#include "plugin_policy.h"
#include "plugin_probe.h"
#include "plugin_summary.h"
#include "plugins_command.h"
#include "trl/sdk/log.h"

namespace trl::host {
namespace {

constexpr double kInfoProbeTimeoutS = 30.0;

std::string utc_mtime(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "";
  std::tm tm{};
  ::gmtime_r(&st.st_mtime, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

nlohmann::json verdict_json(const RuleVerdict& v) {
  return {{"rule", v.rule}, {"plugin", v.plugin}, {"host", v.host}, {"pass", v.pass}, {"reason", v.reason}};
}

// The descriptor rules, then the two policy rules discovery also applies (permissions, stable-only).
nlohmann::json all_rules(const PluginCandidate& c, const PluginPolicy& policy) {
  nlohmann::json rules = nlohmann::json::array();
  for (const RuleVerdict& v : check_descriptor(c.descriptor(), policy.host)) rules.push_back(verdict_json(v));
  const std::string problem = file_security_problem(c.path);
  RuleVerdict security{"file permissions", problem.empty() ? "owner-writable only" : "insecure",
                       "writable only by its owner, owned by root or the current user",
                       problem.empty() || policy.allow_insecure, problem};
  if (!problem.empty() && policy.allow_insecure) security.reason = "allowed by --allow-insecure-plugins: " + problem;
  rules.push_back(verdict_json(security));
  const bool stable = c.descriptor().stability == TRL_STABILITY_STABLE;
  rules.push_back(verdict_json({"stable-only", stability_name(c.descriptor().stability),
                                policy.stable_only ? "stable (--stable-only)" : "any (no --stable-only)",
                                stable || !policy.stable_only,
                                stable || !policy.stable_only ? "" : "experimental plugins are refused"}));
  return rules;
}

void print_text(const nlohmann::json& j) {
  auto field = [](const std::string& key, const std::string& value) {
    std::cout << key << std::string(key.size() < 22 ? 22 - key.size() : 1, ' ') << value << "\n";
  };
  const bool plugin = j.contains("descriptor");
  if (plugin) {
    const nlohmann::json& d = j["descriptor"];
    field("plugin", d["name"].get<std::string>() + " " + d["version"].get<std::string>() + " (" +
                        d["stability"].get<std::string>() + ")");
    field("description", d["description"].get<std::string>());
    field("license", d["license"].get<std::string>());
  }
  field("path", j["path"].get<std::string>());
  field("origin", j["origin"].get<std::string>());
  field("file", std::to_string(j["file"]["size"].get<uint64_t>()) + " bytes, modified " +
                    j["file"]["mtime"].get<std::string>());
  std::string needed;
  for (const auto& n : j["needed"]) needed += (needed.empty() ? "" : ", ") + n.get<std::string>();
  field("DT_NEEDED", needed.empty() ? "-" : needed);
  field("status", j["status_text"].get<std::string>());
  if (!plugin) return;
  field("experimental warning", j["experimental_warning"].get<std::string>());
  const nlohmann::json& d = j["descriptor"];
  const nlohmann::json& h = j["host"];
  field("SDK ABI", d["sdk_abi"].get<std::string>() + " (host " + h["sdk_abi"].get<std::string>() + ")");
  field("LibTorch", d["libtorch"].get<std::string>() + " (host " + h["libtorch"].get<std::string>() + ")");
  field("compiler", d["compiler"].get<std::string>() + " (host " + h["compiler"].get<std::string>() + ")");

  std::cout << "\nrules (in the order the host applies them)\n";
  size_t w_rule = 4, w_plugin = 6, w_host = 4;
  for (const auto& r : j["rules"]) {
    w_rule = std::max(w_rule, r["rule"].get<std::string>().size());
    w_plugin = std::max(w_plugin, r["plugin"].get<std::string>().size());
    w_host = std::max(w_host, r["host"].get<std::string>().size());
  }
  auto pad = [](const std::string& s, size_t w) { return s + std::string(w - s.size() + 2, ' '); };
  std::cout << "  " << pad("rule", w_rule) << pad("plugin", w_plugin) << pad("host", w_host) << "verdict\n";
  for (const auto& r : j["rules"])
    std::cout << "  " << pad(r["rule"], w_rule) << pad(r["plugin"], w_plugin) << pad(r["host"], w_host)
              << (r["pass"].get<bool>() ? std::string("ok") : "FAIL: " + r["reason"].get<std::string>()) << "\n";

  if (j.contains("load")) {
    std::cout << "\nload (probed in a child process)\n";
    for (const auto& s : j["load"]["steps"]) {
      if (s["pass"].get<bool>()) {
        std::cout << "  PASS: " << s["step"].get<std::string>() << "\n";
      } else {
        std::cout << "  FAIL: " << s["step"].get<std::string>() << ": " << s["message"].get<std::string>() << "\n";
        for (const auto& line : s["stderr"]) std::cout << "        stderr: " << line.get<std::string>() << "\n";
      }
    }
  }
  std::cout << "\ncomponents\n";
  if (!j.contains("components")) {
    for (const auto& c : d["components"])
      std::cout << "  " << c["kind"].get<std::string>() << " " << c["name"].get<std::string>() << "\n";
    std::cout << "  (parameters are shown for loadable plugins only)\n";
    return;
  }
  for (const auto& c : j["components"]) {
    std::cout << "  " << c["kind"].get<std::string>() << " " << c["name"].get<std::string>()
              << (c["help"].get<std::string>().empty() ? "" : ": " + c["help"].get<std::string>()) << "\n";
    if (c["kind"] == "trainer")
      std::cout << "    (also accepts the shared TrainingArguments: output_dir, learning_rate, max_steps, ...)\n";
    if (c["params"].empty()) {
      std::cout << "    no parameters\n";
      continue;
    }
    for (const auto& p : c["params"]) {
      std::cout << "    " << p.value("name", "") << " (" << p.value("type", "") << ", default "
                << p.value("default", nlohmann::json()).dump();
      const std::string constraint = p.value("constraint", "");
      if (!constraint.empty()) std::cout << ", " << constraint;
      std::cout << "): " << p.value("help", "") << "\n";
    }
  }
}

}  // namespace

int run_plugins_info(const CommonOptions& common, const std::string& target, bool json) {
  const PluginPolicy policy = policy_from(common);
  const Discovery discovery = discover_plugins(plugin_search_path(common), policy);
  const PluginCandidate c = resolve_plugin_target(discovery, target, policy);

  nlohmann::json j;
  j["path"] = c.path;
  j["origin"] = c.origin;
  j["file"] = {{"size", c.elf.file_size}, {"mtime", utc_mtime(c.path)}};
  j["needed"] = c.elf.needed;
  j["status"] = to_string(c.status);
  j["status_text"] = c.status_text();
  j["reason"] = c.reason;
  j["shadowed_by"] = c.shadowed_by.empty() ? nlohmann::json() : nlohmann::json(c.shadowed_by);
  j["host"] = host_json();
  int exit_code = c.status == PluginStatus::ok || c.status == PluginStatus::shadowed ? kExitOk : kExitPlugin;
  if (c.has_descriptor()) {
    j["descriptor"] = descriptor_json(c.descriptor());
    j["rules"] = all_rules(c, policy);
    const bool experimental = c.descriptor().stability == TRL_STABILITY_EXPERIMENTAL;
    j["experimental_warning"] =
        experimental ? warning_state(c.name, experimental_silence_from_env()) : "not applicable (not experimental)";
  }
  if (c.status == PluginStatus::ok) {
    // Showing a loadable plugin is using it (DESIGN.md "Stability"): its warning is printed here.
    if (c.descriptor().stability == TRL_STABILITY_EXPERIMENTAL)
      warn_experimental_once(c.name, fixed_text(c.descriptor().version, sizeof c.descriptor().version).value_or(""));
    const ProbeOutcome probe =
        probe_plugin(boost::dll::program_location().string(), c.path, common, kInfoProbeTimeoutS);
    nlohmann::json steps = nlohmann::json::array();
    for (const ProbeStep& s : probe.steps)
      steps.push_back({{"step", s.step}, {"pass", s.pass}, {"message", s.message}, {"stderr", s.stderr_tail}});
    j["load"] = {{"passed", probe.passed}, {"steps", steps}};
    if (probe.passed) {
      j["components"] = probe.components;
    } else {
      exit_code = kExitPlugin;
      const ProbeStep& failed = probe.steps.back();
      log::error("failed to load " + c.path + ": " + failed.step + ": " + failed.message);
    }
  } else if (c.status == PluginStatus::refused) {
    log::error(refusal_line(c.path, *c.refusal));
  } else if (c.status == PluginStatus::not_plugin) {
    log::error("not a plugin: " + c.path + ": " + c.reason);
  }
  if (json) {
    std::cout << j.dump(2) << "\n";
  } else {
    print_text(j);
  }
  return exit_code;
}

}  // namespace trl::host
