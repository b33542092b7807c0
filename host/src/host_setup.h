// Process-wide setup from the common options, and the plugin search path they define.
#pragma once

#include <string>
#include <vector>

#include "cli.h"

namespace trl::host {

/// Applies --log-level and sets LibTorch's intra-op threads to default_threads(). Throws ConfigError.
void apply_common_options(const CommonOptions& common);

/// Where plugins are looked for, in order (DESIGN.md "Discovery order").
struct SearchEntry {
  std::string path;     ///< absolute path of a file or folder
  bool is_file = false; ///< an explicit --plugin FILE (else a folder scanned non-recursively)
  std::string origin;   ///< "--plugin", "--plugin-dir", "TRL_PLUGIN_PATH", "TRL_PLUGIN_SYSTEM_PATH", "default"
};

/// --plugin files and --plugin-dir folders, then TRL_PLUGIN_PATH (colon-separated), then the default
/// folder <exe>/../lib/trl/plugins, which TRL_PLUGIN_SYSTEM_PATH (colon-separated) replaces.
/// Relative paths are made absolute against the current directory (given explicitly, so never implicit).
std::vector<SearchEntry> plugin_search_path(const CommonOptions& common);

/// The search path as display lines: "PATH (ORIGIN)".
std::vector<std::string> describe_search_path(const CommonOptions& common);

/// Physical CPU cores (SMT siblings counted once).
int physical_cores();

/// The intra-op thread count when a run does not set num_threads: OMP_NUM_THREADS if it is a positive
/// number, else physical_cores().
int default_threads();

/// The folder holding the running executable.
std::string executable_dir();

}  // namespace trl::host
