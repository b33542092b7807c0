// How plugins and the host's ABI are shown: the JSON objects and one-line texts that `plugins list`,
// `plugins info` and `env` share, so every command spells a field the same way.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "plugin_discovery.h"
#include "trl/sdk/abi.h"

namespace trl::host {

/// The host's side of every rule: {sdk_abi, descriptor_version, libtorch, cxx11_abi, compiler}.
nlohmann::json host_json();

/// "SDK ABI 1.0.0, LibTorch 1.13.1, cxx11-abi 1, gcc 12.2.0".
std::string host_summary();

/// "trainer:dpo, callback:bema": the declared components, from the descriptor alone.
std::string components_text(const trl_plugin_descriptor& d);

/// Every descriptor field: {magic, descriptor_size, descriptor_version, sdk_abi: "1.0.0", stability,
/// libtorch: "1.13.1", cxx11_abi, compiler, name, version, license, description, components: [{kind, name}]}.
/// Text fields that are not NUL-terminated are shown cut, with "(not NUL-terminated)".
nlohmann::json descriptor_json(const trl_plugin_descriptor& d);

/// One `plugins list --json` entry: {path, origin, status, reason, shadowed_by, name, version, stability,
/// abi, components, description}; descriptor fields are null for files that are not plugins.
nlohmann::json candidate_json(const PluginCandidate& c);

}  // namespace trl::host
