// `trl-host plugins new NAME --kind KIND --out DIR`: writes an out-of-tree plugin project that builds
// against the installed SDK (find_package(TrlSdk) + trl_add_plugin): CMakeLists.txt, one source with
// TRL_PLUGIN, the registration and a small working component of KIND, and a README saying how to build,
// check and use it (docs/plugin-authoring.md). A trainer project also gets a run config and data.
#pragma once

#include <string>
#include <vector>

#include "cli.h"
#include "trl/sdk/plugin.h"

namespace trl::host {

/// One file of a generated project.
struct GeneratedFile {
  std::string path;     ///< relative to the project folder, '/'-separated
  std::string content;  ///< the whole text
};

/// The arguments of `plugins new`.
struct NewPluginOptions {
  std::string name;  ///< plugin name, also the component's name: [a-z0-9_]+, at most kMaxNewPluginName
  std::string kind;  ///< "reward", "callback", "trainer" or "group_filter"
  std::string out;   ///< the project folder: created, or an existing empty folder
};

/// Longest NAME `plugins new` accepts: the descriptor's component name field holds 59 bytes and a NUL.
constexpr size_t kMaxNewPluginName = TRL_COMPONENT_NAME - 1;

/// The files of a project for plugin `name` with one component of `kind` (name already validated).
std::vector<GeneratedFile> new_plugin_project(const std::string& name, ComponentKind kind);

/// Validates the options and writes the project. Throws ConfigError (exit 2) naming NAME, --kind or
/// --out: an invalid name, an unknown kind, an --out that is a file or a non-empty folder. Returns 0.
int run_plugins_new(const NewPluginOptions& options);

/// Registers `new` under the `plugins` subcommand.
void add_plugins_new_command(CLI::App& plugins, const CommonOptions& common, int& exit_code);

}  // namespace trl::host
