// Stability policy (DESIGN.md "Stability"): the once-per-process warning for experimental plugins, who
// silences it (TRL_EXPERIMENTAL_SILENCE), and --stable-only / TRL_STABLE_ONLY refusing them outright.
#pragma once

#include <optional>
#include <set>
#include <string>

#include "cli.h"

namespace trl::host {

/// Which plugins' experimental warnings are silenced.
struct ExperimentalSilence {
  bool all = false;             ///< every plugin
  std::set<std::string> names;  ///< these plugins (when not all)
  std::string text;             ///< the variable's value as given, for messages
  /// Whether plugin `name`'s warning is silenced.
  bool silences(const std::string& name) const { return all || names.count(name) > 0; }
};

/// Parses TRL_EXPERIMENTAL_SILENCE: `1`, `true`, `yes`, `all` (any case) silence every plugin; unset
/// (nullptr), empty or `0` none; anything else is a comma-separated list of plugin names (blanks trimmed).
ExperimentalSilence parse_experimental_silence(const char* value);

/// The silence the environment asks for now.
ExperimentalSilence experimental_silence_from_env();

/// Whether experimental plugins are refused: --stable-only, or TRL_STABLE_ONLY = 1/true/yes (0, false, no,
/// empty or unset: not). Throws ConfigError for any other value of TRL_STABLE_ONLY.
bool stable_only(const CommonOptions& common);

/// The warning text for an experimental plugin: names it, says its API may change or be removed in any
/// release and that TRL_EXPERIMENTAL_SILENCE=1 silences it.
std::string experimental_warning_text(const std::string& name, const std::string& version);

/// What the warning does for plugin `name` under `silence`: "shown", or "silenced by TRL_EXPERIMENTAL_SILENCE=...".
std::string warning_state(const std::string& name, const ExperimentalSilence& silence);

/// Logs the warning for an experimental plugin at most once per process (unless silenced by the
/// environment). Returns true if it was logged by this call.
bool warn_experimental_once(const std::string& name, const std::string& version);

}  // namespace trl::host
