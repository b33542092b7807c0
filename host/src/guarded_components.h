// Guarded proxies: every component the host builds from a plugin is wrapped in a subclass of its SDK
// interface that forwards each virtual call inside try/catch, so an exception thrown by plugin code
// comes out naming the plugin, the component and the call (DESIGN.md "The plugin ABI": "the host wraps
// every call into a component and reports which plugin failed").
//
// Conversion: errors whose cause is the user's input keep their type, so the exit code says who must
// act, with the plugin prefixed: ConfigError (exit 2), DataError, ModelError, CheckpointError (exit 1);
// NonFiniteError passes unchanged (it names the step). trl::PluginError passes through unchanged (it
// already names a plugin, e.g. a reward built inside a trainer). Anything else (std::exception,
// c10::Error, InternalError, ...) is the plugin's fault and becomes trl::PluginError
// "plugin 'P': KIND 'NAME': CALL: what" (exit 3).
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "trl/sdk/error.h"
#include "trl/sdk/plugin.h"

namespace trl::host {

/// Who a guarded call belongs to, for messages.
struct ComponentOrigin {
  std::string plugin;   ///< plugin name
  ComponentKind kind;   ///< component kind
  std::string name;     ///< component name
  /// "KIND 'NAME': CALL", the `what` part of the PluginError.
  std::string call(const char* call) const;
};

/// Rethrows the exception being handled as described above. Call only inside a catch block.
[[noreturn]] void rethrow_from_plugin(const ComponentOrigin& origin, const char* call);

/// Runs `f` (a call into plugin code) and converts what it throws with rethrow_from_plugin.
template <class F>
auto call_plugin(const ComponentOrigin& origin, const char* call, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (...) {
    rethrow_from_plugin(origin, call);
  }
}

/// Wraps a trainer (destructors are noexcept, so a throwing destructor still terminates, as everywhere).
std::unique_ptr<Trainer> guard_trainer(std::unique_ptr<Trainer> inner, ComponentOrigin origin);
/// Wraps a callback.
std::unique_ptr<Callback> guard_callback(std::unique_ptr<Callback> inner, ComponentOrigin origin);
/// Wraps a reward function.
std::unique_ptr<RewardFunction> guard_reward(std::unique_ptr<RewardFunction> inner, ComponentOrigin origin);
/// Wraps a group filter.
std::unique_ptr<GroupFilter> guard_group_filter(std::unique_ptr<GroupFilter> inner, ComponentOrigin origin);

}  // namespace trl::host
