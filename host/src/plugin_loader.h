// Loading a plugin that passed the pre-load checks (spec/plugin-abi.md 3.5, 3.6): Boost.DLL with
// rtld_now | rtld_local | RTLD_NODELETE, the in-memory descriptor compared byte for byte with the file's,
// the three entry points resolved, init run into a trl::Registry, and its registrations compared with
// the declared components. Loaded plugins live in a process-lifetime table, are never unloaded, and are
// shut down in reverse load order at exit.
//
// Each step is also a function of its own, so `plugins check`'s probe can report PASS/FAIL per step.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <boost/dll/shared_library.hpp>

#include "plugin_discovery.h"
#include "trl/sdk/abi.h"
#include "trl/sdk/error.h"
#include "trl/sdk/plugin.h"

namespace trl::host {

/// A failed load step: what() is "failed to load PATH: STEP: MESSAGE" (or "refused PATH: ..." for a
/// plugin that loaded but broke the rules); step() and detail() give the parts.
class PluginLoadError : public PluginError {
 public:
  /// `verb` is "failed to load" or "refused"; `step` one of the load_steps names.
  PluginLoadError(const std::string& verb, const std::string& path, std::string step, std::string detail);
  ~PluginLoadError() override;
  /// "failed to load" or "refused".
  const std::string& verb() const { return verb_; }
  /// The file.
  const std::string& path() const { return path_; }
  /// The step that failed: "dlopen", "descriptor match", "symbols", "init", "registrations", ...
  const std::string& step() const { return step_; }
  /// The cause without the path and step (for dlopen: the raw dlerror text).
  const std::string& detail() const { return detail_; }

 private:
  std::string verb_;
  std::string path_;
  std::string step_;
  std::string detail_;
};

/// The steps of a load, in order, as named in messages and in `plugins check` output.
namespace load_steps {
inline constexpr const char* kPreload = "pre-load checks";
inline constexpr const char* kDlopen = "dlopen";
inline constexpr const char* kDescriptor = "descriptor match";
inline constexpr const char* kSymbols = "symbols";
inline constexpr const char* kInit = "init";
inline constexpr const char* kRegistrations = "registrations";
inline constexpr const char* kShutdown = "shutdown";
}  // namespace load_steps

/// The three entry points of a loaded plugin.
struct PluginEntryPoints {
  const trl_plugin_descriptor* descriptor = nullptr;  ///< trl_plugin_descriptor_v1 in memory
  trl_plugin_init_fn init = nullptr;                  ///< trl_plugin_init_v1
  trl_plugin_shutdown_fn shutdown = nullptr;          ///< trl_plugin_shutdown_v1
};

/// dlopen through Boost.DLL (rtld_now | rtld_local | RTLD_NODELETE, never DEEPBIND). Runs the plugin's
/// static constructors. Throws PluginLoadError(step "dlopen") whose detail is the raw dlerror text.
boost::dll::shared_library open_plugin_library(const std::string& path);

/// Resolves trl_plugin_descriptor_v1, trl_plugin_init_v1 and trl_plugin_shutdown_v1 (step "symbols").
PluginEntryPoints resolve_entry_points(const boost::dll::shared_library& library, const std::string& path);

/// Refuses the plugin (step "descriptor match") unless the in-memory descriptor equals the file's byte for byte.
void compare_descriptor(const trl_plugin_descriptor& in_memory, const trl_plugin_descriptor& from_file,
                        const std::string& path);

/// The host API passed to init (struct size, SDK ABI, host version).
const trl_host_api_v1& host_api();

/// Calls init with a fresh registry (step "init"); a TRL_ERROR / TRL_INCOMPATIBLE status becomes a
/// PluginLoadError carrying the plugin's message.
std::unique_ptr<Registry> run_plugin_init(const PluginEntryPoints& entry, const std::string& path);

/// Refuses the plugin (step "registrations") unless `registry` holds exactly the declared components.
void match_registrations(const trl_plugin_descriptor& declared, const Registry& registry, const std::string& path);

/// A plugin loaded for the rest of the process.
class LoadedPlugin {
 public:
  /// Takes a library whose steps all passed.
  LoadedPlugin(std::string path, boost::dll::shared_library library, PluginEntryPoints entry,
               std::unique_ptr<Registry> registry);
  ~LoadedPlugin();
  LoadedPlugin(const LoadedPlugin&) = delete;
  LoadedPlugin& operator=(const LoadedPlugin&) = delete;

  /// The plugin's name (from its descriptor).
  const std::string& name() const { return name_; }
  /// The file it was loaded from.
  const std::string& path() const { return path_; }
  /// Its descriptor (the in-memory copy, equal to the file's).
  const trl_plugin_descriptor& descriptor() const { return *entry_.descriptor; }
  /// What init registered, in registration order; empty after shutdown.
  const std::vector<ComponentEntry>& components() const;
  /// The registered component (kind, name), or nullptr.
  const ComponentEntry* find(ComponentKind kind, const std::string& name) const;
  /// Destroys the registered factories, then calls trl_plugin_shutdown_v1; idempotent, never throws.
  void shutdown() noexcept;

 private:
  std::string path_;
  std::string name_;
  boost::dll::shared_library library_;
  PluginEntryPoints entry_;
  std::unique_ptr<Registry> registry_;
  bool shut_down_ = false;
};

/// Loads `candidate` (status ok, else PluginError) once per process: a second call for the same path returns
/// the same plugin, or throws the same error again without retrying. Registers shutdown at exit.
LoadedPlugin& load_plugin(const PluginCandidate& candidate);

/// Shuts down every loaded plugin in reverse load order; idempotent. Runs at exit by itself.
void shutdown_plugins() noexcept;

}  // namespace trl::host
