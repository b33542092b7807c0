// Shared renderings of descriptors, candidates and the host ABI (plugin_summary.h).
#include "plugin_summary.h"

#include <torch/csrc/api/include/torch/version.h>

#include "plugin_checks.h"
#include "trl/sdk/version.h"

namespace trl::host {
namespace {

std::string text_of(const char* field, size_t capacity) {
  std::optional<std::string> text = fixed_text(field, capacity);
  return text ? *text : std::string(field, capacity) + " (not NUL-terminated)";
}

std::string host_compiler() {
#if defined(__clang__)
  return "clang " __clang_version__;
#else
  return "gcc " __VERSION__;
#endif
}

// Only the declared entries, bounded by the array even when num_components lies.
uint32_t declared_count(const trl_plugin_descriptor& d) {
  return d.num_components < TRL_MAX_COMPONENTS ? d.num_components : TRL_MAX_COMPONENTS;
}

}  // namespace

nlohmann::json host_json() {
  const HostAbi h = host_abi();
  return {{"sdk_abi", std::to_string(h.abi_major) + "." + std::to_string(h.abi_minor) + "." +
                          std::to_string(h.abi_patch)},
          {"descriptor_version", h.descriptor_version},
          {"descriptor_size", TRL_DESCRIPTOR_SIZE},
          {"libtorch", std::to_string(h.torch_major) + "." + std::to_string(h.torch_minor) + "." +
                           std::to_string(h.torch_patch)},
          {"cxx11_abi", h.cxx11_abi},
          {"compiler", host_compiler()}};
}

std::string host_summary() {
  const nlohmann::json h = host_json();
  return "SDK ABI " + h["sdk_abi"].get<std::string>() + ", LibTorch " + h["libtorch"].get<std::string>() +
         ", cxx11-abi " + std::to_string(h["cxx11_abi"].get<uint32_t>()) + ", " + h["compiler"].get<std::string>();
}

std::string components_text(const trl_plugin_descriptor& d) {
  std::string out;
  for (uint32_t i = 0; i < declared_count(d); ++i)
    out += (out.empty() ? "" : ", ") + component_kind_name(d.components[i].kind) + ":" +
           text_of(d.components[i].name, sizeof d.components[i].name);
  return out.empty() ? "-" : out;
}

nlohmann::json descriptor_json(const trl_plugin_descriptor& d) {
  nlohmann::json components = nlohmann::json::array();
  for (uint32_t i = 0; i < declared_count(d); ++i)
    components.push_back({{"kind", component_kind_name(d.components[i].kind)},
                          {"name", text_of(d.components[i].name, sizeof d.components[i].name)}});
  return {{"magic", text_of(d.magic, sizeof d.magic)},
          {"descriptor_size", d.descriptor_size},
          {"descriptor_version", d.descriptor_version},
          {"sdk_abi", std::to_string(d.abi_major) + "." + std::to_string(d.abi_minor) + "." +
                          std::to_string(d.abi_patch)},
          {"stability", stability_name(d.stability)},
          {"libtorch", std::to_string(d.torch_major) + "." + std::to_string(d.torch_minor) + "." +
                           std::to_string(d.torch_patch)},
          {"cxx11_abi", d.cxx11_abi},
          {"compiler", text_of(d.compiler, sizeof d.compiler)},
          {"name", text_of(d.name, sizeof d.name)},
          {"version", text_of(d.version, sizeof d.version)},
          {"license", text_of(d.license, sizeof d.license)},
          {"description", text_of(d.description, sizeof d.description)},
          {"num_components", d.num_components},
          {"components", components}};
}

nlohmann::json candidate_json(const PluginCandidate& c) {
  nlohmann::json j = {{"path", c.path},
                      {"origin", c.origin},
                      {"status", to_string(c.status)},
                      {"reason", c.reason},
                      {"shadowed_by", c.shadowed_by.empty() ? nlohmann::json() : nlohmann::json(c.shadowed_by)},
                      {"name", nullptr},
                      {"version", nullptr},
                      {"stability", nullptr},
                      {"abi", nullptr},
                      {"components", nlohmann::json::array()},
                      {"description", nullptr}};
  if (!c.has_descriptor()) return j;
  const nlohmann::json d = descriptor_json(c.descriptor());
  j["name"] = c.name.empty() ? nlohmann::json() : nlohmann::json(c.name);
  j["version"] = d["version"];
  j["stability"] = d["stability"];
  j["abi"] = abi_text(c.descriptor());
  j["components"] = d["components"];
  j["description"] = d["description"];
  return j;
}

}  // namespace trl::host
