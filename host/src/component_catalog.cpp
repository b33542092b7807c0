// Component lookup from descriptors, on-demand loading, spec validation and guarded construction.
#include "component_catalog.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "guarded_components.h"
#include "plugin_loader.h"
#include "plugin_policy.h"
#include "trl/sdk/error.h"
#include "trl/sdk/log.h"
#include "trl/sdk/train/training_args.h"

namespace trl::host {
namespace {

bool declares(const PluginCandidate& c, ComponentKind kind, const std::string& name) {
  const trl_plugin_descriptor& d = c.descriptor();
  for (uint32_t i = 0; i < d.num_components && i < TRL_MAX_COMPONENTS; ++i) {
    if (d.components[i].kind == static_cast<uint32_t>(kind) &&
        fixed_text(d.components[i].name, sizeof d.components[i].name) == name)
      return true;
  }
  return false;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// Releases a component built by a typed Registry::add_* factory as its interface. The registry only
// accepts typed factories (plugin.h), so the dynamic type is known; static_cast avoids relying on RTTI
// across the plugin boundary (spec/plugin-abi.md 2.7).
template <class T>
std::unique_ptr<T> as(std::unique_ptr<Component> component) {
  return std::unique_ptr<T>(static_cast<T*>(component.release()));
}

}  // namespace

ParamTable merge_trainer_params(const ParamTable& shared, const ParamTable& own) {
  ParamTable merged;
  for (const ParamSpec& s : shared.specs()) {
    const ParamSpec* override_spec = own.find(s.name);
    const ParamSpec& use = override_spec != nullptr ? *override_spec : s;
    merged.add(use.name, use.type, use.default_value, use.help) = use;
  }
  for (const ParamSpec& s : own.specs())
    if (shared.find(s.name) == nullptr) merged.add(s.name, s.type, s.default_value, s.help) = s;
  return merged;
}

ComponentCatalog::ComponentCatalog(Discovery discovery) : discovery_(std::move(discovery)) {
  // The same (kind, name) from two different plugins: the first in search order is used, as for plugin names.
  std::map<std::pair<uint32_t, std::string>, std::string> provider;
  for (const PluginCandidate& c : discovery_.plugins) {
    if (c.status != PluginStatus::ok) continue;
    const trl_plugin_descriptor& d = c.descriptor();
    for (uint32_t i = 0; i < d.num_components; ++i) {
      const std::string name = fixed_text(d.components[i].name, sizeof d.components[i].name).value_or("");
      auto [it, inserted] = provider.emplace(std::make_pair(d.components[i].kind, name), c.path);
      if (!inserted)
        log::warn(to_string(static_cast<ComponentKind>(d.components[i].kind)) + " '" + name + "' is declared by " +
                  it->second + " and by " + c.path + "; the first is used");
    }
  }
}

ComponentCatalog::ComponentCatalog(const CommonOptions& common) : ComponentCatalog(discover_plugins(common)) {
  for (const std::string& problem : discovery_.problems) log::warn("plugin search path: " + problem);
  for (const PluginCandidate& c : discovery_.plugins) {
    if (c.origin != "--plugin") continue;
    if (c.status == PluginStatus::not_plugin) throw ConfigError("--plugin", c.path, c.reason);
    if (c.status == PluginStatus::refused) throw PluginError(refusal_line(c.path, *c.refusal));
  }
}

ComponentCatalog::~ComponentCatalog() = default;

std::vector<std::string> ComponentCatalog::names(ComponentKind kind) const {
  std::set<std::string> out;
  for (const PluginCandidate& c : discovery_.plugins) {
    if (c.status != PluginStatus::ok) continue;
    const trl_plugin_descriptor& d = c.descriptor();
    for (uint32_t i = 0; i < d.num_components; ++i)
      if (d.components[i].kind == static_cast<uint32_t>(kind))
        out.insert(fixed_text(d.components[i].name, sizeof d.components[i].name).value_or(""));
  }
  return {out.begin(), out.end()};
}

const PluginCandidate& ComponentCatalog::locate(ComponentKind kind, const std::string& name,
                                                const std::string& where, const std::string& key) const {
  const PluginCandidate* refused = nullptr;
  for (const PluginCandidate& c : discovery_.plugins) {
    if (!c.has_descriptor() || !declares(c, kind, name)) continue;
    if (c.status == PluginStatus::ok) return c;
    if (c.status == PluginStatus::refused && refused == nullptr) refused = &c;
  }
  if (refused != nullptr)
    throw PluginError(to_string(kind) + " '" + name + "' is provided by plugin '" + refused->name + "', " +
                      refusal_line(refused->path, *refused->refusal));
  const std::vector<std::string> known = names(kind);
  const std::string hint = did_you_mean(name, known);
  std::string message = "unknown " + to_string(kind) + " '" + name + "'";
  if (!hint.empty()) message += " (did you mean '" + hint + "'?)";
  message += known.empty() ? "; no usable plugin on the search path declares a " + to_string(kind)
                           : "; known: " + join(known);
  message += " (see `trl-host plugins list`)";
  throw ConfigError(where, key, message);
}

const ComponentEntry& ComponentCatalog::entry(ComponentKind kind, const std::string& name, const std::string& where,
                                              const std::string& key) {
  const PluginCandidate& candidate = locate(kind, name, where, key);
  LoadedPlugin& plugin = load_plugin(candidate);
  if (plugin.descriptor().stability == TRL_STABILITY_EXPERIMENTAL)
    warn_experimental_once(plugin.name(), fixed_text(plugin.descriptor().version, 32).value_or(""));
  const ComponentEntry* found = plugin.find(kind, name);
  TRL_INTERNAL_ASSERT(found != nullptr, "plugin " + plugin.path() + " passed the registration check but lacks " +
                                            to_string(kind) + " '" + name + "'");
  return *found;
}

ParamTable ComponentCatalog::param_table(ComponentKind kind, const std::string& name, const std::string& where,
                                         const std::string& key) {
  const ComponentEntry& e = entry(kind, name, where, key);
  return kind == ComponentKind::trainer ? merge_trainer_params(training_arguments_params(), e.params) : e.params;
}

ComponentCatalog::Built ComponentCatalog::build(ComponentKind kind, const std::string& name,
                                                const nlohmann::json& args, const std::string& where,
                                                const std::string& name_key, const std::string& args_where) {
  const ComponentEntry& e = entry(kind, name, where, name_key);
  Built built;
  built.name = name;
  built.plugin = locate(kind, name, where, name_key).name;
  built.args = kind == ComponentKind::trainer
                   ? merge_trainer_params(training_arguments_params(), e.params).validate(args, args_where)
                   : e.params.validate(args, args_where);
  built.args.set_config_dir(config_dir_);
  const ComponentOrigin origin{built.plugin, kind, name};
  built.component = call_plugin(origin, "create", [&] { return e.create(built.args); });
  if (built.component == nullptr) throw PluginError(built.plugin, origin.call("create"), "the factory returned null");
  return built;
}

ComponentCatalog::Built ComponentCatalog::build_from_spec(ComponentKind kind, const nlohmann::json& spec,
                                                          const std::string& where) {
  // A bare string is shorthand for {"name": string} (TRL's reward_funcs accept names too).
  if (spec.is_string()) return build(kind, spec.get<std::string>(), nullptr, where, "name", where + ": args");
  if (!spec.is_object())
    throw ConfigError(where, "", "expected {\"name\": ..., \"args\": {...}} or a name, got " + spec.dump());
  for (auto it = spec.begin(); it != spec.end(); ++it) {
    if (it.key() != "name" && it.key() != "args") {
      const std::string hint = did_you_mean(it.key(), {"name", "args"});
      throw ConfigError(where, it.key(),
                        "unknown key; a component spec has \"name\" and \"args\"" +
                            (hint.empty() ? std::string() : " (did you mean \"" + hint + "\"?)"));
    }
  }
  if (!spec.contains("name") || !spec["name"].is_string())
    throw ConfigError(where, "name",
                      "expected the " + to_string(kind) + "'s name as a string, got " +
                          (spec.contains("name") ? spec["name"].dump() : std::string("nothing")));
  const nlohmann::json args = spec.contains("args") ? spec["args"] : nlohmann::json();
  if (!args.is_null() && !args.is_object()) throw ConfigError(where, "args", "expected an object, got " + args.dump());
  return build(kind, spec["name"].get<std::string>(), args, where, "name", where + ": args");
}

BuiltTrainer ComponentCatalog::make_trainer(const std::string& name, const nlohmann::json& args,
                                            const std::string& config) {
  if (!args.is_null() && !args.is_object()) throw ConfigError(config, "args", "expected an object, got " + args.dump());
  Built built = build(ComponentKind::trainer, name, args, config, "trainer", config + ": args");
  BuiltTrainer out;
  out.trainer = guard_trainer(as<Trainer>(std::move(built.component)), {built.plugin, ComponentKind::trainer, name});
  out.args = std::move(built.args);
  out.plugin = std::move(built.plugin);
  return out;
}

std::unique_ptr<Callback> ComponentCatalog::make_callback(const nlohmann::json& spec, const std::string& where) {
  Built built = build_from_spec(ComponentKind::callback, spec, where);
  return guard_callback(as<Callback>(std::move(built.component)), {built.plugin, ComponentKind::callback, built.name});
}

std::unique_ptr<RewardFunction> ComponentCatalog::make_reward(const nlohmann::json& spec, const std::string& where) {
  Built built = build_from_spec(ComponentKind::reward, spec, where);
  return guard_reward(as<RewardFunction>(std::move(built.component)),
                      {built.plugin, ComponentKind::reward, built.name});
}

std::unique_ptr<GroupFilter> ComponentCatalog::make_group_filter(const nlohmann::json& spec, const std::string& where) {
  Built built = build_from_spec(ComponentKind::group_filter, spec, where);
  return guard_group_filter(as<GroupFilter>(std::move(built.component)),
                            {built.plugin, ComponentKind::group_filter, built.name});
}

}  // namespace trl::host
