// The host rule (DESIGN.md "The plugin ABI", spec/plugin-abi.md 3.3): every check made on a descriptor read
// from the file, before any plugin code runs, in the documented order. Each rule gives a verdict that
// names what the plugin has and what the host needs, so a refusal is one self-explaining line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "trl/sdk/abi.h"

namespace trl::host {

/// What this host was built with, i.e. what a plugin's descriptor must agree with.
struct HostAbi {
  uint32_t abi_major = 0;           ///< SDK ABI major: must be equal
  uint32_t abi_minor = 0;           ///< SDK ABI minor: the plugin's must be <= this
  uint32_t abi_patch = 0;           ///< SDK ABI patch: informational
  uint32_t descriptor_version = 0;  ///< newest descriptor layout this host reads
  uint32_t torch_major = 0;         ///< LibTorch major: must be equal
  uint32_t torch_minor = 0;         ///< LibTorch minor: must be equal
  uint32_t torch_patch = 0;         ///< LibTorch patch: informational
  uint32_t cxx11_abi = 0;           ///< _GLIBCXX_USE_CXX11_ABI: must be equal
};

/// The values compiled into this host (version.h, torch/version.h, _GLIBCXX_USE_CXX11_ABI).
HostAbi host_abi();

/// One rule applied to one descriptor.
struct RuleVerdict {
  std::string rule;     ///< its name in messages: "SDK ABI minor", "C++ ABI", "components", ...
  std::string plugin;   ///< what the plugin has, e.g. "1.3"
  std::string host;     ///< what the host needs, e.g. "<= 1.0"
  bool pass = false;    ///< whether the rule holds
  std::string reason;   ///< when it fails: "plugin built against 1.3, host supports up to 1.0"; else empty
};

/// Every rule, in the host's order (descriptor, SDK ABI major, SDK ABI minor, descriptor version,
/// C++ ABI, LibTorch, stability, name, version, text fields, components); all are evaluated, so
/// `plugins info` can show each verdict. Rules after a failed "descriptor" rule are not trustworthy.
std::vector<RuleVerdict> check_descriptor(const trl_plugin_descriptor& d, const HostAbi& host);

/// The first failing verdict of check_descriptor, or nullopt when the plugin may be loaded.
std::optional<RuleVerdict> first_refusal(const trl_plugin_descriptor& d, const HostAbi& host);

/// A fixed-size text field as a string if it is NUL-terminated within its capacity, else nullopt.
std::optional<std::string> fixed_text(const char* field, size_t capacity);

/// Whether `name` is a valid plugin or component name: [a-z0-9_]+.
bool is_valid_name(const std::string& name);

/// Whether `version` is semver 2.0: MAJOR.MINOR.PATCH[-prerelease][+build], no leading zeros.
bool is_semver(const std::string& version);

/// "trainer", "callback", "reward", "group_filter", or "kind N" for a value outside trl_component_kind.
std::string component_kind_name(uint32_t kind);

/// "stable", "experimental" or "invalid (N)".
std::string stability_name(uint32_t stability);

/// "1.3" style: SDK ABI of a descriptor.
std::string abi_text(const trl_plugin_descriptor& d);

/// The one-line refusal the host prints: "refused PATH: RULE: REASON".
std::string refusal_line(const std::string& path, const RuleVerdict& verdict);

}  // namespace trl::host
