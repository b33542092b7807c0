// The pre-load rules of DESIGN.md "The plugin ABI", in its order: magic/size/descriptor version sane;
// ABI major equal; ABI minor <= host (patch ignored); C++ ABI equal; LibTorch major.minor equal; stability
// valid; then the declared identity and components. Pure functions of the descriptor bytes.
#include "plugin_checks.h"

#include <cstring>
#include <regex>
#include <set>
#include <utility>

#include <torch/csrc/api/include/torch/version.h>

#include "trl/sdk/version.h"

namespace trl::host {
namespace {

std::string two(uint32_t a, uint32_t b) { return std::to_string(a) + "." + std::to_string(b); }
std::string three(uint32_t a, uint32_t b, uint32_t c) { return two(a, b) + "." + std::to_string(c); }

RuleVerdict verdict(std::string rule, std::string plugin, std::string host, bool pass, std::string reason) {
  return {std::move(rule), std::move(plugin), std::move(host), pass, pass ? std::string() : std::move(reason)};
}

// A readable, bounded rendering of a text field that may lack its NUL.
std::string shown(const char* field, size_t capacity) {
  std::optional<std::string> text = fixed_text(field, capacity);
  if (text) return "\"" + *text + "\"";
  return "\"" + std::string(field, capacity).substr(0, 24) + "...\" (not NUL-terminated)";
}

bool all_zero(const void* bytes, size_t n) {
  const auto* p = static_cast<const uint8_t*>(bytes);
  for (size_t i = 0; i < n; ++i)
    if (p[i] != 0) return false;
  return true;
}

RuleVerdict check_components(const trl_plugin_descriptor& d) {
  const std::string need = "1.." + std::to_string(TRL_MAX_COMPONENTS) + " of known kinds, [a-z0-9_]+, unique";
  std::string has = std::to_string(d.num_components) + " declared";
  if (d.num_components == 0 || d.num_components > TRL_MAX_COMPONENTS)
    return verdict("components", has, need, false,
                   "plugin declares " + std::to_string(d.num_components) + " components, host accepts 1.." +
                       std::to_string(TRL_MAX_COMPONENTS));
  std::set<std::pair<uint32_t, std::string>> seen;
  std::string listed;
  for (uint32_t i = 0; i < d.num_components; ++i) {
    const trl_component_decl& c = d.components[i];
    const std::string where = "component " + std::to_string(i);
    if (c.kind < TRL_KIND_TRAINER || c.kind > TRL_KIND_GROUP_FILTER)
      return verdict("components", has, need, false,
                     where + " has kind " + std::to_string(c.kind) + ", host knows 1 (trainer) .. 4 (group_filter)");
    std::optional<std::string> name = fixed_text(c.name, sizeof c.name);
    if (!name) return verdict("components", has, need, false, where + " name is not NUL-terminated");
    if (!is_valid_name(*name))
      return verdict("components", has, need, false,
                     where + " (" + component_kind_name(c.kind) + ") name \"" + *name + "\" does not match [a-z0-9_]+");
    if (!seen.insert({c.kind, *name}).second)
      return verdict("components", has, need, false,
                     component_kind_name(c.kind) + " '" + *name + "' is declared twice");
    listed += (listed.empty() ? "" : ", ") + component_kind_name(c.kind) + " " + *name;
  }
  for (uint32_t i = d.num_components; i < TRL_MAX_COMPONENTS; ++i) {
    if (!all_zero(&d.components[i], sizeof d.components[i]))
      return verdict("components", has, need, false,
                     "slot " + std::to_string(i) + " is past num_components=" + std::to_string(d.num_components) +
                         " but not zeroed");
  }
  return verdict("components", listed, need, true, "");
}

}  // namespace

HostAbi host_abi() {
  HostAbi h;
  h.abi_major = TRL_SDK_ABI_MAJOR;
  h.abi_minor = TRL_SDK_ABI_MINOR;
  h.abi_patch = TRL_SDK_ABI_PATCH;
  h.descriptor_version = TRL_DESCRIPTOR_VERSION;
  h.torch_major = TORCH_VERSION_MAJOR;
  h.torch_minor = TORCH_VERSION_MINOR;
  h.torch_patch = TORCH_VERSION_PATCH;
  h.cxx11_abi = _GLIBCXX_USE_CXX11_ABI;
  return h;
}

std::optional<std::string> fixed_text(const char* field, size_t capacity) {
  const void* nul = std::memchr(field, '\0', capacity);
  if (nul == nullptr) return std::nullopt;
  return std::string(field, static_cast<const char*>(nul));
}

bool is_valid_name(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

bool is_semver(const std::string& version) {
  // The grammar of semver.org 2.0.0, section "Backus-Naur Form Grammar", as one expression.
  static const std::regex kSemver(
      R"((0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*))"
      R"((-((0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)(\.(0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*))?)"
      R"((\+[0-9a-zA-Z-]+(\.[0-9a-zA-Z-]+)*)?)");
  return std::regex_match(version, kSemver);
}

std::string component_kind_name(uint32_t kind) {
  switch (kind) {
    case TRL_KIND_TRAINER: return "trainer";
    case TRL_KIND_CALLBACK: return "callback";
    case TRL_KIND_REWARD: return "reward";
    case TRL_KIND_GROUP_FILTER: return "group_filter";
    default: return "kind " + std::to_string(kind);
  }
}

std::string stability_name(uint32_t stability) {
  if (stability == TRL_STABILITY_STABLE) return "stable";
  if (stability == TRL_STABILITY_EXPERIMENTAL) return "experimental";
  return "invalid (" + std::to_string(stability) + ")";
}

std::string abi_text(const trl_plugin_descriptor& d) { return two(d.abi_major, d.abi_minor); }

std::vector<RuleVerdict> check_descriptor(const trl_plugin_descriptor& d, const HostAbi& host) {
  std::vector<RuleVerdict> out;
  const bool magic_ok = std::memcmp(d.magic, TRL_PLUGIN_MAGIC, sizeof d.magic) == 0;
  out.push_back(verdict("magic", shown(d.magic, sizeof d.magic), "\"" TRL_PLUGIN_MAGIC "\"", magic_ok,
                        "descriptor starts with " + shown(d.magic, sizeof d.magic) + ", host expects \"" +
                            TRL_PLUGIN_MAGIC "\""));
  out.push_back(verdict("descriptor size", std::to_string(d.descriptor_size), std::to_string(TRL_DESCRIPTOR_SIZE),
                        d.descriptor_size == TRL_DESCRIPTOR_SIZE,
                        "descriptor declares " + std::to_string(d.descriptor_size) + " bytes, host expects " +
                            std::to_string(TRL_DESCRIPTOR_SIZE)));
  // Fields are only appended (abi.h), so a newer layout is readable; 0 was never written by any SDK.
  out.push_back(verdict("descriptor version", std::to_string(d.descriptor_version),
                        ">= 1 (host writes " + std::to_string(host.descriptor_version) + ")",
                        d.descriptor_version >= 1, "descriptor version 0 was never written by an SDK"));
  out.push_back(verdict("SDK ABI major", std::to_string(d.abi_major), std::to_string(host.abi_major),
                        d.abi_major == host.abi_major,
                        "plugin built against SDK ABI " + two(d.abi_major, d.abi_minor) + ", host has ABI " +
                            std::to_string(host.abi_major) + ".x (majors must be equal)"));
  out.push_back(verdict("SDK ABI minor", two(d.abi_major, d.abi_minor), "<= " + two(host.abi_major, host.abi_minor),
                        d.abi_minor <= host.abi_minor,
                        "plugin built against " + two(d.abi_major, d.abi_minor) + ", host supports up to " +
                            two(host.abi_major, host.abi_minor)));
  out.push_back(verdict("C++ ABI", "_GLIBCXX_USE_CXX11_ABI=" + std::to_string(d.cxx11_abi),
                        "_GLIBCXX_USE_CXX11_ABI=" + std::to_string(host.cxx11_abi), d.cxx11_abi == host.cxx11_abi,
                        "plugin built with _GLIBCXX_USE_CXX11_ABI=" + std::to_string(d.cxx11_abi) + ", host uses " +
                            std::to_string(host.cxx11_abi) + " (std::string layouts differ)"));
  // LibTorch has no cross-version ABI; a patch difference is shown but not refused (spec 3.3 rule 5).
  out.push_back(verdict("LibTorch", three(d.torch_major, d.torch_minor, d.torch_patch),
                        two(host.torch_major, host.torch_minor) + ".x",
                        d.torch_major == host.torch_major && d.torch_minor == host.torch_minor,
                        "plugin built against LibTorch " + three(d.torch_major, d.torch_minor, d.torch_patch) +
                            ", host runs " + three(host.torch_major, host.torch_minor, host.torch_patch) +
                            " (major.minor must be equal)"));
  const bool stability_ok = d.stability == TRL_STABILITY_STABLE || d.stability == TRL_STABILITY_EXPERIMENTAL;
  out.push_back(verdict("stability", stability_name(d.stability), "stable (1) or experimental (2)", stability_ok,
                        "plugin declares stability " + std::to_string(d.stability) +
                            ", host knows 1 (stable) and 2 (experimental)"));

  std::optional<std::string> name = fixed_text(d.name, sizeof d.name);
  out.push_back(verdict("name", shown(d.name, sizeof d.name), "[a-z0-9_]+", name && is_valid_name(*name),
                        "plugin name " + shown(d.name, sizeof d.name) + " does not match [a-z0-9_]+"));
  std::optional<std::string> version = fixed_text(d.version, sizeof d.version);
  out.push_back(verdict("version", shown(d.version, sizeof d.version), "semver MAJOR.MINOR.PATCH[-pre][+build]",
                        version && is_semver(*version),
                        "plugin version " + shown(d.version, sizeof d.version) + " is not semver"));
  std::string bad_text;
  if (!fixed_text(d.compiler, sizeof d.compiler)) bad_text = "compiler";
  if (!fixed_text(d.license, sizeof d.license)) bad_text = "license";
  if (!fixed_text(d.description, sizeof d.description)) bad_text = "description";
  out.push_back(verdict("text fields", bad_text.empty() ? "terminated" : bad_text + " unterminated",
                        "NUL-terminated", bad_text.empty(), "the " + bad_text + " field is not NUL-terminated"));
  out.push_back(check_components(d));
  // Later layouts may use the reserved bytes; only a layout this host wrote itself must keep them zero.
  const bool reserved_ok = d.descriptor_version > host.descriptor_version ||
                           (d.reserved_u32 == 0 && all_zero(d.reserved, sizeof d.reserved));
  out.push_back(verdict("reserved", reserved_ok ? "zero" : "non-zero", "zero", reserved_ok,
                        "reserved bytes are not zero in a version-" + std::to_string(d.descriptor_version) +
                            " descriptor"));
  return out;
}

std::optional<RuleVerdict> first_refusal(const trl_plugin_descriptor& d, const HostAbi& host) {
  for (RuleVerdict& v : check_descriptor(d, host))
    if (!v.pass) return std::move(v);
  return std::nullopt;
}

std::string refusal_line(const std::string& path, const RuleVerdict& verdict) {
  return "refused " + path + ": " + verdict.rule + ": " + verdict.reason;
}

}  // namespace trl::host
