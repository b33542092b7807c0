// The `plugins` subcommands (DESIGN.md "The CLI"): list, info and check, plus the hidden probe that
// `check` and `info` re-execute the host with. Each returns the process exit code (cli.h).
#pragma once

#include <string>
#include <vector>

#include "cli.h"
#include "plugin_discovery.h"

namespace trl::host {

/// `plugins list [--json]`: every file on the search path with its verdict; reads descriptors only.
int run_plugins_list(const CommonOptions& common, bool json);

/// `plugins info NAME|FILE [--json]`: every descriptor field against the host's value with a verdict per
/// rule, file facts, DT_NEEDED, the warning state, and for a loadable plugin (probed in a child process)
/// each component's parameters. Exit 0 when loadable, 3 when refused or failing, 2 when not found.
int run_plugins_info(const CommonOptions& common, const std::string& target, bool json);

/// `plugins check [NAME|FILE...]`: a full load of each (all discovered when none given) in a child
/// process with a deadline, PASS / FAIL per step. Exit 0 when all pass, 3 when any fails.
int run_plugins_check(const CommonOptions& common, const std::vector<std::string>& targets, double timeout_s);

/// What a NAME|FILE argument designates: a FILE (contains '/' or ends in ".so") is examined as given,
/// or taken from the discovery when it is on the search path; a NAME is the first discovered plugin of
/// that name. Throws ConfigError (with a did-you-mean) for an unknown name.
PluginCandidate resolve_plugin_target(const Discovery& discovery, const std::string& target,
                                      const PluginPolicy& policy);

}  // namespace trl::host
