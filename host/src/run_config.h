// The run config of `trl-host train`: read from JSON, --set overrides applied, top-level keys checked.
#pragma once

#include <string>
#include <vector>

#include "trl/sdk/train/context.h"

namespace trl::host {

/// Reads and checks CONFIG.json. Each `overrides` entry is "key=value": a dotted path from the root
/// ("args.beta=0.2", "model=dir"); a bare key that is not a top-level key goes into "args"
/// ("max_steps=5"). The value is parsed as JSON when it is valid JSON, else taken as a string.
/// Errors are ConfigError naming the file (with line:column for bad JSON) or "--set" and the key.
RunConfig load_run_config(const std::string& path, const std::vector<std::string>& overrides);

/// Checks a run config object (after overrides): unknown top-level keys (with a "did you mean"), required
/// keys, and each key's type. `path` names the config in errors.
RunConfig parse_run_config(const nlohmann::json& config, const std::string& path);

}  // namespace trl::host
