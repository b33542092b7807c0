// `trl-host dpo|gfpo [--config FILE] --flag value ...`: TRL's command-line habits (`trl dpo
// --model_name_or_path ... --beta 0.1`) as aliases of `train`: the flags become a run config
// (trl_flags.h), which then runs exactly as `trl-host train` runs it.
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "cli.h"
#include "component_catalog.h"
#include "host_setup.h"
#include "plugin_probe.h"
#include "run_config.h"
#include "trl/sdk/error.h"
#include "trl_flags.h"

namespace trl::host {
namespace {

struct TrlFlagsOptions {
  std::string config;
  bool print_config = false;
};

// The common flags (--plugin, --stable-only, ...) when they follow the command: the alias takes every
// flag as its own (CLI11 cannot fall through to the main command for unknown names), so they are picked
// out here and the rest are TRL flags.
CommonOptions take_common_options(CommonOptions common, std::vector<std::string>& flags) {
  std::vector<std::string> rest;
  for (size_t i = 0; i < flags.size(); ++i) {
    const std::string& word = flags[i];
    const size_t eq = word.find('=');
    const std::string name = word.substr(0, eq);
    if (name == "--stable-only" && eq == std::string::npos) {
      common.stable_only = true;
    } else if (name == "--allow-insecure-plugins" && eq == std::string::npos) {
      common.allow_insecure_plugins = true;
    } else if (name == "--plugin" || name == "--plugin-dir" || name == "--log-level") {
      std::string value;
      if (eq != std::string::npos) {
        value = word.substr(eq + 1);
      } else if (i + 1 < flags.size()) {
        value = flags[++i];
      } else {
        throw ConfigError(name + ": expected a value");
      }
      if (name == "--plugin") common.plugin_files.push_back(value);
      if (name == "--plugin-dir") common.plugin_dirs.push_back(value);
      if (name == "--log-level") common.log_level = value;
    } else {
      rest.push_back(word);
    }
  }
  flags = rest;
  return common;
}

int run_trl_flags(const CommonOptions& main_common, const std::string& trainer, const TrlFlagsOptions& options,
                  std::vector<std::string> flags) {
  const CommonOptions common = take_common_options(main_common, flags);
  apply_common_options(common);
  const nlohmann::json document = options.config.empty() ? nlohmann::json() : read_config_document(options.config);
  const std::string where = options.config.empty() ? "trl-host " + trainer : options.config;
  // The trainer's own parameters and TrainingArguments: the names a flag may take.
  ComponentCatalog catalog(common);
  probe_before_loading(catalog, {{ComponentKind::trainer, trainer}}, common, where);  // see run_training
  const ParamTable params = catalog.param_table(ComponentKind::trainer, trainer, where, "trainer");
  const RunConfig run =
      parse_run_config(run_config_from_trl_flags(trainer, document, options.config, flags, params), where);
  if (options.print_config) {
    std::cout << run.raw.dump(2) << "\n";
    return kExitOk;
  }
  return run_training(common, run);
}

void add_alias(CLI::App& app, const CommonOptions& common, int& exit_code, const std::string& trainer,
               const std::string& what) {
  auto options = std::make_shared<TrlFlagsOptions>();
  auto* cmd = app.add_subcommand(trainer, what + " from TRL-style flags (--model_name_or_path, --" +
                                              std::string(trainer == "dpo" ? "beta" : "num_generations") +
                                              ", ...); an alias of train");
  cmd->allow_extras();
  cmd->fallthrough(false);  // every flag is the alias's: TRL names, or the common ones picked out above
  cmd->add_option("--config", options->config,
                  "JSON or YAML config (a run config, or TRL-style flat keys); flags override its values");
  cmd->add_flag("--print-config", options->print_config, "Print the run config the flags make (JSON) and exit");
  cmd->footer(
      "Flag names are TRL's: model_name_or_path, ref_model, dataset_name (a file, or a folder of <split>.jsonl "
      "files with dataset_train_split / dataset_test_split), train_dataset, eval_dataset, callbacks, " +
      std::string(trainer == "gfpo" ? "reward_funcs, group_filter, " : "") + "and every parameter that `trl-host " +
      "plugins info " + trainer + "` lists (e.g. --learning_rate 1e-6 --max_steps 100 --loss_type sigmoid hinge).");
  cmd->callback([&common, &exit_code, options, cmd, trainer] {
    exit_code = run_trl_flags(common, trainer, *options, cmd->remaining());
  });
}

}  // namespace

void add_trl_flags_commands(CLI::App& app, const CommonOptions& common, int& exit_code) {
  add_alias(app, common, exit_code, "dpo", "Train DPO");
  add_alias(app, common, exit_code, "gfpo", "Train GFPO");
}

}  // namespace trl::host
