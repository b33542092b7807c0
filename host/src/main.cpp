// trl-host: parse the command line, run one command, map errors to the documented exit codes.
#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli.h"
#include "trl/sdk/error.h"
#include "trl/sdk/log.h"

int main(int argc, char** argv) {
  using namespace trl::host;
  CLI::App app{"trl-host: preference and RL fine-tuning of language models, with trainers as plugins"};
  app.require_subcommand(1);
  app.set_version_flag("--version", TRL_HOST_VERSION);

  CommonOptions common;
  app.add_option("--plugin", common.plugin_files, "Load this plugin file (repeatable; searched first)");
  app.add_option("--plugin-dir", common.plugin_dirs, "Search this folder for plugins (repeatable)");
  app.add_flag("--stable-only", common.stable_only, "Refuse experimental plugins (also TRL_STABLE_ONLY=1)");
  app.add_flag("--allow-insecure-plugins", common.allow_insecure_plugins,
               "Load plugins from files or folders writable by others");
  app.add_option("--log-level", common.log_level, "trace, debug, info, warn, error or off")->capture_default_str();
  // Common flags may follow the subcommand too ("trl-host plugins list --plugin x.so").
  app.fallthrough();

  int exit_code = kExitOk;
  add_env_command(app, common, exit_code);
  add_plugins_command(app, common, exit_code);
  add_train_command(app, common, exit_code);
  add_generate_command(app, common, exit_code);
  add_init_model_command(app, common, exit_code);
  add_merge_adapter_command(app, common, exit_code);
  add_logits_command(app, common, exit_code);
  add_plot_command(app, common, exit_code);
  add_trl_flags_commands(app, common, exit_code);
  add_launch_command(app, common, exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  } catch (const trl::ConfigError& e) {
    trl::log::error(e.what());
    return kExitUsage;
  } catch (const trl::PluginError& e) {
    trl::log::error(e.what());
    return kExitPlugin;
  } catch (const std::exception& e) {
    trl::log::error(e.what());
    return kExitRuntime;
  }
  return exit_code;
}
