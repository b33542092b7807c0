// YAML run configs: a YAML document read into the same JSON value a JSON config gives.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace trl::host {

/// Parses one YAML document into JSON. Plain scalars resolve by the YAML 1.2 core schema (null, true/false,
/// integers incl. 0x/0o, floats incl. 1e-6, .inf, .nan); quoted or !!str scalars stay strings. A repeated
/// key is an error (PyYAML silently keeps the last one; a config that says two things is a mistake here).
/// Errors: ConfigError "PATH:LINE:COLUMN: invalid YAML: ..." (1-based), `path` naming the file.
nlohmann::json parse_yaml(const std::string& text, const std::string& path);

}  // namespace trl::host
