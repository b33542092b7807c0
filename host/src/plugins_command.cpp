// `trl-host plugins ...`: the subcommand tree, `plugins list`, and NAME|FILE resolution.
#include "plugins_command.h"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "host_setup.h"
#include "plugin_probe.h"
#include "plugin_summary.h"
#include "plugins_new.h"
#include "trl/sdk/error.h"
#include "trl/sdk/params.h"

namespace trl::host {
namespace fs = std::filesystem;
namespace {

bool looks_like_file(const std::string& target) {
  return target.find('/') != std::string::npos ||
         (target.size() > 3 && target.compare(target.size() - 3, 3, ".so") == 0);
}

// Pads every column but the last to its widest cell.
void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], row[i].size());
    }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

}  // namespace

PluginCandidate resolve_plugin_target(const Discovery& discovery, const std::string& target,
                                      const PluginPolicy& policy) {
  if (looks_like_file(target)) {
    const std::string path = fs::absolute(target).lexically_normal().string();
    std::error_code ec;
    for (const PluginCandidate& c : discovery.plugins)
      if (c.path == path || fs::equivalent(c.path, path, ec)) return c;
    return examine_plugin_file(path, "argument", policy);
  }
  std::vector<std::string> names;
  for (const PluginCandidate& c : discovery.plugins) {
    if (c.name == target) return c;
    if (!c.name.empty()) names.push_back(c.name);
  }
  const std::string hint = did_you_mean(target, names);
  throw ConfigError("plugins", target,
                    "no plugin of that name on the search path" +
                        (hint.empty() ? std::string() : " (did you mean '" + hint + "'?)") +
                        "; give a file path (containing '/') to inspect a file elsewhere");
}

int run_plugins_list(const CommonOptions& common, bool json) {
  const Discovery d = discover_plugins(common);
  if (json) {
    nlohmann::json out;
    out["search_path"] = describe_search_path(common);
    out["host"] = host_json();
    out["problems"] = d.problems;
    out["plugins"] = nlohmann::json::array();
    for (const PluginCandidate& c : d.plugins) out["plugins"].push_back(candidate_json(c));
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "search path: ";
  const std::vector<std::string> path = describe_search_path(common);
  for (size_t i = 0; i < path.size(); ++i) std::cout << (i ? " | " : "") << path[i];
  std::cout << "\nhost: " << host_summary() << "\n";
  for (const std::string& problem : d.problems) std::cout << "note: " << problem << "\n";
  if (d.plugins.empty()) {
    std::cout << "no plugin files found\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "VERSION", "STABILITY", "ABI", "COMPONENTS", "PATH", "STATUS"}};
  for (const PluginCandidate& c : d.plugins) {
    if (!c.has_descriptor()) {
      rows.push_back({"-", "-", "-", "-", "-", c.path, c.status_text()});
      continue;
    }
    const trl_plugin_descriptor& desc = c.descriptor();
    rows.push_back({c.name.empty() ? "?" : c.name, fixed_text(desc.version, sizeof desc.version).value_or("?"),
                    stability_name(desc.stability), abi_text(desc), components_text(desc), c.path, c.status_text()});
  }
  print_table(rows);
  return kExitOk;
}

void add_plugins_command(CLI::App& app, const CommonOptions& common, int& exit_code) {
  CLI::App* plugins = app.add_subcommand("plugins", "List, inspect and check plugins");
  plugins->require_subcommand(1);

  CLI::App* list = plugins->add_subcommand(
      "list", "Every plugin file on the search path: name, version, stability, ABI, components, status, path. "
              "Reads descriptors only: no plugin code runs");
  auto list_json = std::make_shared<bool>(false);
  list->add_flag("--json", *list_json, "Print one JSON object on stdout");
  list->callback([&common, &exit_code, list_json] {
    apply_common_options(common);
    exit_code = run_plugins_list(common, *list_json);
  });

  CLI::App* info = plugins->add_subcommand(
      "info", "One plugin in detail: each descriptor field against the host's, file facts, DT_NEEDED, the "
              "experimental warning, and (for a loadable plugin, probed in a child process) each component's "
              "parameters");
  auto info_target = std::make_shared<std::string>();
  auto info_json = std::make_shared<bool>(false);
  info->add_option("plugin", *info_target, "Plugin NAME, or a FILE path (containing '/' or ending in .so)")
      ->required();
  info->add_flag("--json", *info_json, "Print one JSON object on stdout");
  info->callback([&common, &exit_code, info_target, info_json] {
    apply_common_options(common);
    exit_code = run_plugins_info(common, *info_target, *info_json);
  });

  CLI::App* check = plugins->add_subcommand(
      "check", "Load each plugin in a child process and report PASS / FAIL per step (pre-load checks, dlopen, "
               "symbols, descriptor match, init, registrations, shutdown); exit 3 if any fails");
  auto check_targets = std::make_shared<std::vector<std::string>>();
  auto check_timeout = std::make_shared<double>(30.0);
  check->add_option("plugins", *check_targets, "Plugin NAMEs or FILEs; none = every file on the search path");
  check->add_option("--timeout", *check_timeout, "Seconds each plugin's load may take before it is killed")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  check->callback([&common, &exit_code, check_targets, check_timeout] {
    apply_common_options(common);
    exit_code = run_plugins_check(common, *check_targets, *check_timeout);
  });

  add_plugins_new_command(*plugins, common, exit_code);

  // Hidden: what `check` and `info` re-execute the host with, one file per process.
  CLI::App* probe = plugins->add_subcommand("probe", "Internal: load one plugin file and report each step");
  probe->group("");
  auto probe_file = std::make_shared<std::string>();
  auto probe_fd = std::make_shared<int>(3);
  probe->add_option("file", *probe_file, "Plugin file")->required();
  probe->add_option("--report-fd", *probe_fd, "Descriptor to write the JSON-lines report to")
      ->check(CLI::Range(3, 1023));
  probe->callback([&common, &exit_code, probe_file, probe_fd] {
    apply_common_options(common);
    exit_code = run_plugin_probe(common, *probe_file, *probe_fd);
  });
}

}  // namespace trl::host
