// The host's component catalog: which plugin provides component (kind, name), answered from the
// descriptors alone (no plugin code runs); loading that plugin only when one of its components is built;
// validating a {"name", "args"} spec against the registered parameters; and wrapping every component in
// a guarded proxy (guarded_components.h). It is also the trl::ComponentProvider trainers use to build
// the rewards and group filters a run config names.
//
// The `train` command uses it like this:
//   ComponentCatalog catalog(common);                       // discovery; throws for unusable --plugin files
//   auto built = catalog.make_trainer(run.trainer, run.raw["args"], run.path);
//   TrainingArguments targs = TrainingArguments::from_args(built.args);
//   for (i, spec in run.callbacks) callbacks.push_back(catalog.make_callback(spec, run.path + ": callbacks[i]"));
//   TrainerContext ctx{run, targs, built.args, model, tokenizer, /*components=*/catalog, ...};
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "plugin_discovery.h"
#include "trl/sdk/params.h"
#include "trl/sdk/plugin.h"
#include "trl/sdk/train/context.h"

namespace trl::host {

/// A trainer built from a run config, with the arguments it was validated into.
struct BuiltTrainer {
  std::unique_ptr<Trainer> trainer;  ///< guarded; never null
  Args args;                         ///< the whole "args" block: TrainingArguments and the trainer's own
  std::string plugin;                ///< name of the plugin that provides it
};

/// Finds, loads and builds components by kind and name.
class ComponentCatalog final : public ComponentProvider {
 public:
  /// Discovers the plugins of the common options. An explicit --plugin FILE that cannot be used stops
  /// here: ConfigError if it is missing or not a plugin, PluginError if it is refused (exit code 3).
  explicit ComponentCatalog(const CommonOptions& common);
  /// Uses an existing discovery as is (tests, and commands that already discovered).
  explicit ComponentCatalog(Discovery discovery);
  ~ComponentCatalog() override;

  /// What discovery found.
  const Discovery& discovery() const { return discovery_; }

  /// The run config's folder (absolute), handed to every component built from now on as
  /// Args::config_dir(), so a component resolves its relative paths as the host does. Empty by default.
  void set_config_dir(std::string dir) { config_dir_ = std::move(dir); }

  /// Names of every component of `kind` declared by a usable (status ok) plugin, sorted, unique.
  std::vector<std::string> names(ComponentKind kind) const;

  /// The usable plugin that declares (kind, name), first in search order. Throws ConfigError
  /// "WHERE: KEY: unknown KIND 'NAME' (did you mean 'X'?); known: ..." when no plugin declares it, and
  /// PluginError when only refused plugins do (naming the file and the rule).
  const PluginCandidate& locate(ComponentKind kind, const std::string& name, const std::string& where,
                                const std::string& key) const;

  /// Loads the plugin that declares (kind, name) (once per process; warns once if it is experimental)
  /// and returns the component's registration. Throws like locate(), or PluginError if loading fails.
  const ComponentEntry& entry(ComponentKind kind, const std::string& name, const std::string& where,
                              const std::string& key);

  /// The table a component's "args" are validated against: its registered parameters, and for a
  /// trainer those merged over training_arguments_params() (where both declare a key, the trainer's
  /// declaration wins, so a trainer can change a shared default such as learning_rate).
  ParamTable param_table(ComponentKind kind, const std::string& name, const std::string& where,
                         const std::string& key);

  /// Builds the trainer `name` with `args` (a JSON object or null). `config` names the run config for
  /// errors: "CONFIG: trainer: unknown trainer ...", "CONFIG: args: beta: ...".
  BuiltTrainer make_trainer(const std::string& name, const nlohmann::json& args, const std::string& config);

  /// Builds a callback from {"name": ..., "args": {...}} (or just "name"); `where` locates the spec
  /// ("run.json: callbacks[0]").
  std::unique_ptr<Callback> make_callback(const nlohmann::json& spec, const std::string& where);
  /// Builds a reward function from a spec, as make_callback.
  std::unique_ptr<RewardFunction> make_reward(const nlohmann::json& spec, const std::string& where) override;
  /// Builds a group filter from a spec, as make_callback.
  std::unique_ptr<GroupFilter> make_group_filter(const nlohmann::json& spec, const std::string& where) override;

 private:
  // A validated component and the plugin it came from, before it is cast to its interface.
  struct Built {
    std::unique_ptr<Component> component;
    Args args;
    std::string plugin;
    std::string name;
  };
  Built build(ComponentKind kind, const std::string& name, const nlohmann::json& args, const std::string& where,
              const std::string& name_key, const std::string& args_where);
  Built build_from_spec(ComponentKind kind, const nlohmann::json& spec, const std::string& where);

  Discovery discovery_;
  std::string config_dir_;
};

/// The merged table of a trainer: `shared` (training_arguments_params()) with each key `own` also
/// declares replaced by `own`'s spec, then `own`'s other keys, in order.
ParamTable merge_trainer_params(const ParamTable& shared, const ParamTable& own);

}  // namespace trl::host
