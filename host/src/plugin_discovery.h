// Plugin discovery (DESIGN.md "The plugin ABI", spec/plugin-abi.md 3.7): walks the search path of
// host_setup.h, reads each candidate's descriptor from the file, applies the pre-load rules, the file
// security rule and the stability policy, and resolves shadowing. Runs no plugin code and keeps no cache.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli.h"
#include "elf_descriptor.h"
#include "host_setup.h"
#include "plugin_checks.h"

namespace trl::host {

/// What the host will do with a discovered file.
enum class PluginStatus {
  ok,          ///< passes every pre-load rule: may be loaded when one of its components is used
  refused,     ///< a plugin the host will not load; refusal says which rule and why
  shadowed,    ///< a plugin whose name an earlier file already has; never loaded
  not_plugin   ///< not a trl-host plugin at all (no ELF, no trl_desc section, unreadable, corrupt)
};

/// "ok", "refused", "shadowed", "not a plugin".
std::string to_string(PluginStatus status);

/// The inputs of the load decision besides the file itself.
struct PluginPolicy {
  HostAbi host;                 ///< what descriptors must agree with
  bool stable_only = false;     ///< refuse experimental plugins
  bool allow_insecure = false;  ///< skip the file-permission rule
};

/// The policy of the common options and environment (--stable-only / TRL_STABLE_ONLY, --allow-insecure-plugins).
PluginPolicy policy_from(const CommonOptions& common);

/// One file found on the search path, and the verdict on it.
struct PluginCandidate {
  std::string path;                   ///< absolute path as found (not resolved through symlinks)
  std::string origin;                 ///< the search entry's origin: "--plugin", "TRL_PLUGIN_PATH", "default", ...
  PluginStatus status = PluginStatus::not_plugin;  ///< the verdict
  std::string reason;                 ///< refused: "RULE: why"; not_plugin: why; shadowed: "shadowed by PATH"; ok: ""
  std::optional<RuleVerdict> refusal; ///< the failing rule, when refused
  ElfDescriptor elf;                  ///< what the file holds (descriptor valid when elf.status is ok)
  std::string name;                   ///< the plugin's name if its descriptor carries a valid one, else ""
  std::string shadowed_by;            ///< path of the earlier file with the same name, when shadowed
  /// The descriptor read from the file; only meaningful when elf.status is ok.
  const trl_plugin_descriptor& descriptor() const { return elf.descriptor; }
  /// Whether the file holds a readable descriptor (ok, refused by a rule or policy, or shadowed).
  bool has_descriptor() const { return elf.status == ElfStatus::ok; }
  /// The one-line status as `plugins list` prints it: "ok", "refused: RULE: why", "shadowed by PATH", ...
  std::string status_text() const;
};

/// Everything discovery saw.
struct Discovery {
  std::vector<SearchEntry> search_path;   ///< what was searched, in order
  std::vector<PluginCandidate> plugins;   ///< every *.so found, in search order
  std::vector<std::string> problems;      ///< search entries that could not be used (missing folder, ...)
};

/// Why `path` is not safe to load (writable by group/others, or owned by another non-root user; the file,
/// its folder, and for a symlink the target's folder), or "" when it is (OpenSSH StrictModes style).
std::string file_security_problem(const std::string& path);

/// Examines one file on its own (no shadowing): reads the descriptor, applies the rules and the policy.
PluginCandidate examine_plugin_file(const std::string& path, const std::string& origin, const PluginPolicy& policy);

/// Walks the search path: --plugin files, then each folder's regular *.so files (non-recursive, sorted by
/// name), first name wins, the same file twice counts once. Runs no plugin code.
Discovery discover_plugins(const std::vector<SearchEntry>& search_path, const PluginPolicy& policy);

/// discover_plugins over plugin_search_path(common) with policy_from(common).
Discovery discover_plugins(const CommonOptions& common);

}  // namespace trl::host
