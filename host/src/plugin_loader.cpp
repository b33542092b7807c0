// The load sequence of spec/plugin-abi.md 3.5/3.6 and the process-lifetime table of loaded plugins.
#include "plugin_loader.h"

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <system_error>
#include <utility>

#include "plugin_checks.h"
#include "trl/sdk/log.h"
#include "trl/sdk/version.h"

namespace trl::host {
namespace {

// Boost.DLL's throwing overloads format "<what> (dlerror system message: <text>): <errc text>"
// (boost/dll/detail/system_error.hpp); users need the dlerror text itself.
std::string raw_dlerror(const std::system_error& e) {
  std::string text = e.what();
  const std::string prefix = "(dlerror system message: ";
  const size_t start = text.find(prefix);
  if (start == std::string::npos) return text;
  text = text.substr(start + prefix.size());
  const std::string suffix = "): " + e.code().message();
  if (text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0)
    return text.substr(0, text.size() - suffix.size());
  if (!text.empty() && text.back() == ')') text.pop_back();
  return text;
}

std::string declared_list(const std::set<std::pair<ComponentKind, std::string>>& items) {
  std::string out;
  for (const auto& [kind, name] : items) out += (out.empty() ? "" : ", ") + to_string(kind) + " '" + name + "'";
  return out;
}

// Every load the process attempted, by path: the plugin, or the error it failed with (never retried,
// since a failed load may already have run static constructors).
struct LoadTable {
  std::recursive_mutex mutex;
  std::vector<std::unique_ptr<LoadedPlugin>> loaded;   // load order
  std::map<std::string, LoadedPlugin*> by_path;
  std::map<std::string, PluginLoadError> failed;
};

LoadTable& table() {
  static LoadTable instance;
  return instance;
}

void shutdown_at_exit() { shutdown_plugins(); }

}  // namespace

PluginLoadError::PluginLoadError(const std::string& verb, const std::string& path, std::string step,
                                 std::string detail)
    : PluginError(verb + " " + path + ": " + step + ": " + detail),
      verb_(verb),
      path_(path),
      step_(std::move(step)),
      detail_(std::move(detail)) {}
PluginLoadError::~PluginLoadError() = default;

boost::dll::shared_library open_plugin_library(const std::string& path) {
  namespace mode = boost::dll::load_mode;
  // rtld_now: a missing symbol fails here, not at the first call (spec 2.3); rtld_local: no symbol
  // leaks between plugins (2.6); RTLD_NODELETE: the code stays mapped even if a handle is closed (2.9).
  const mode::type flags = mode::rtld_now | mode::rtld_local | static_cast<mode::type>(RTLD_NODELETE);
  try {
    return boost::dll::shared_library(path, flags);
  } catch (const std::system_error& e) {
    throw PluginLoadError("failed to load", path, load_steps::kDlopen, raw_dlerror(e));
  }
}

PluginEntryPoints resolve_entry_points(const boost::dll::shared_library& library, const std::string& path) {
  PluginEntryPoints entry;
  try {
    entry.descriptor = &library.get<const trl_plugin_descriptor>(TRL_DESCRIPTOR_SYMBOL);
    entry.init = library.get<int(const trl_host_api_v1*, trl_registry*, trl_error*)>(TRL_INIT_SYMBOL);
    entry.shutdown = library.get<void()>(TRL_SHUTDOWN_SYMBOL);
  } catch (const std::system_error& e) {
    throw PluginLoadError("failed to load", path, load_steps::kSymbols, raw_dlerror(e));
  }
  return entry;
}

void compare_descriptor(const trl_plugin_descriptor& in_memory, const trl_plugin_descriptor& from_file,
                        const std::string& path) {
  if (std::memcmp(&in_memory, &from_file, sizeof from_file) == 0) return;
  size_t first = 0;
  const auto* a = reinterpret_cast<const uint8_t*>(&in_memory);
  const auto* b = reinterpret_cast<const uint8_t*>(&from_file);
  while (first < sizeof from_file && a[first] == b[first]) ++first;
  throw PluginLoadError("refused", path, load_steps::kDescriptor,
                        "the descriptor in memory differs from the file's " TRL_DESCRIPTOR_SECTION
                        " section, first at byte " + std::to_string(first) +
                            " (the file is not what was checked, or the plugin rewrote it)");
}

const trl_host_api_v1& host_api() {
  static const trl_host_api_v1 api{sizeof(trl_host_api_v1), TRL_SDK_ABI_MAJOR, TRL_SDK_ABI_MINOR, TRL_SDK_ABI_PATCH,
                                   TRL_SDK_VERSION};
  return api;
}

std::unique_ptr<Registry> run_plugin_init(const PluginEntryPoints& entry, const std::string& path) {
  auto registry = std::make_unique<Registry>();
  trl_error err{};
  const int status = entry.init(&host_api(), reinterpret_cast<trl_registry*>(registry.get()), &err);
  err.message[sizeof err.message - 1] = '\0';  // the plugin promised a terminated message; do not trust it
  if (status == TRL_OK) return registry;
  const std::string message = err.message[0] != '\0' ? err.message : "(no message)";
  if (status == TRL_INCOMPATIBLE)
    throw PluginLoadError("refused", path, load_steps::kInit, "the plugin refuses this host: " + message);
  throw PluginLoadError("failed to load", path, load_steps::kInit,
                        "trl_plugin_init_v1 returned " + std::to_string(status) + ": " + message);
}

void match_registrations(const trl_plugin_descriptor& declared, const Registry& registry, const std::string& path) {
  std::set<std::pair<ComponentKind, std::string>> want, got;
  for (uint32_t i = 0; i < declared.num_components && i < TRL_MAX_COMPONENTS; ++i) {
    const trl_component_decl& c = declared.components[i];
    want.insert({static_cast<ComponentKind>(c.kind), fixed_text(c.name, sizeof c.name).value_or("")});
  }
  for (const ComponentEntry& e : registry.entries()) got.insert({e.kind, e.name});
  std::set<std::pair<ComponentKind, std::string>> missing, extra;
  for (const auto& w : want)
    if (got.count(w) == 0) missing.insert(w);
  for (const auto& g : got)
    if (want.count(g) == 0) extra.insert(g);
  if (missing.empty() && extra.empty()) return;
  std::string detail;
  if (!missing.empty()) detail = "declared but not registered by init: " + declared_list(missing);
  if (!extra.empty())
    detail += (detail.empty() ? "" : "; ") + std::string("registered but not declared: ") + declared_list(extra);
  throw PluginLoadError("refused", path, load_steps::kRegistrations, detail);
}

LoadedPlugin::LoadedPlugin(std::string path, boost::dll::shared_library library, PluginEntryPoints entry,
                           std::unique_ptr<Registry> registry)
    : path_(std::move(path)),
      name_(fixed_text(entry.descriptor->name, sizeof entry.descriptor->name).value_or("")),
      library_(std::move(library)),
      entry_(entry),
      registry_(std::move(registry)) {}

LoadedPlugin::~LoadedPlugin() { shutdown(); }

const std::vector<ComponentEntry>& LoadedPlugin::components() const {
  static const std::vector<ComponentEntry> kNone;
  return registry_ != nullptr ? registry_->entries() : kNone;
}

const ComponentEntry* LoadedPlugin::find(ComponentKind kind, const std::string& name) const {
  for (const ComponentEntry& e : components())
    if (e.kind == kind && e.name == name) return &e;
  return nullptr;
}

void LoadedPlugin::shutdown() noexcept {
  if (shut_down_) return;
  shut_down_ = true;
  try {
    registry_.reset();  // the factories are plugin objects: gone before the plugin's shutdown (spec 3.1)
  } catch (...) {
  }
  if (entry_.shutdown != nullptr) entry_.shutdown();  // noexcept by contract; the macro catches everything
}

LoadedPlugin& load_plugin(const PluginCandidate& candidate) {
  LoadTable& t = table();
  std::lock_guard<std::recursive_mutex> lock(t.mutex);
  if (auto it = t.by_path.find(candidate.path); it != t.by_path.end()) return *it->second;
  if (auto it = t.failed.find(candidate.path); it != t.failed.end()) throw it->second;
  // Callers load only candidates that passed; should one slip through, its own verdict is the message.
  if (candidate.status == PluginStatus::refused && candidate.refusal)
    throw PluginError(refusal_line(candidate.path, *candidate.refusal));
  if (candidate.status != PluginStatus::ok)
    throw PluginError("not loading " + candidate.path + ": " + candidate.status_text());
  try {
    boost::dll::shared_library library = open_plugin_library(candidate.path);
    PluginEntryPoints entry = resolve_entry_points(library, candidate.path);
    compare_descriptor(*entry.descriptor, candidate.descriptor(), candidate.path);
    std::unique_ptr<Registry> registry = run_plugin_init(entry, candidate.path);
    match_registrations(candidate.descriptor(), *registry, candidate.path);
    auto plugin = std::make_unique<LoadedPlugin>(candidate.path, std::move(library), entry, std::move(registry));
    LoadedPlugin& ref = *plugin;
    t.loaded.push_back(std::move(plugin));
    t.by_path[candidate.path] = &ref;
    // Registered after this plugin's static constructors ran, so at exit it runs before their destructors.
    std::atexit(shutdown_at_exit);
    log::debug("loaded plugin '" + ref.name() + "' from " + ref.path());
    return ref;
  } catch (const PluginLoadError& e) {
    t.failed.emplace(candidate.path, e);
    throw;
  }
}

void shutdown_plugins() noexcept {
  LoadTable& t = table();
  std::lock_guard<std::recursive_mutex> lock(t.mutex);
  for (auto it = t.loaded.rbegin(); it != t.loaded.rend(); ++it) (*it)->shutdown();
}

}  // namespace trl::host
