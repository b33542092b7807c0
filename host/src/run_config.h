// The run config of `trl-host train`: read from JSON or YAML, --set overrides applied, top-level keys checked.
#pragma once

#include <string>
#include <vector>

#include "trl/sdk/train/context.h"

namespace trl::host {

/// Reads a config file into JSON: YAML when its name ends in .yaml or .yml, JSON when it ends in .json,
/// otherwise JSON if its first non-blank character is '{' and YAML if not. ConfigError names the file
/// and, for a syntax error, "line:column".
nlohmann::json read_config_document(const std::string& path);

/// Reads and checks CONFIG (JSON or YAML, see read_config_document). Each `overrides` entry is "key=value": a dotted path from the root
/// ("args.beta=0.2", "model=dir"); a bare key that is not a top-level key goes into "args"
/// ("max_steps=5"). The value is parsed as JSON when it is valid JSON, else taken as a string.
/// Errors are ConfigError naming the file (with line:column for bad JSON) or "--set" and the key.
RunConfig load_run_config(const std::string& path, const std::vector<std::string>& overrides);

/// Checks a run config object (after overrides): unknown top-level keys (with a "did you mean"), required
/// keys, and each key's type. `path` names the config in errors.
RunConfig parse_run_config(const nlohmann::json& config, const std::string& path);

}  // namespace trl::host
