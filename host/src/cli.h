// Options shared by every trl-host command, and the command registration functions main() calls.
#pragma once

#include <string>
#include <vector>

namespace CLI {
class App;
}
namespace trl {
struct RunConfig;
}

namespace trl::host {

/// Exit codes of the CLI contract (DESIGN.md).
enum ExitCode : int {
  kExitOk = 0,          ///< success
  kExitRuntime = 1,     ///< a runtime failure
  kExitUsage = 2,       ///< bad usage or config
  kExitPlugin = 3       ///< a plugin was refused or failed
};

/// Flags every command accepts (plugin discovery and policy, logging).
struct CommonOptions {
  std::vector<std::string> plugin_files;   ///< --plugin FILE (repeatable)
  std::vector<std::string> plugin_dirs;    ///< --plugin-dir DIR (repeatable)
  bool stable_only = false;                ///< --stable-only (or TRL_STABLE_ONLY=1)
  bool allow_insecure_plugins = false;     ///< --allow-insecure-plugins
  std::string log_level = "info";          ///< --log-level
};

/// Each add_*_command registers a subcommand whose callback runs the command and records its exit code.
void add_env_command(CLI::App& app, const CommonOptions& common, int& exit_code);
void add_plugins_command(CLI::App& app, const CommonOptions& common, int& exit_code);
void add_train_command(CLI::App& app, const CommonOptions& common, int& exit_code);
void add_generate_command(CLI::App& app, const CommonOptions& common, int& exit_code);
void add_init_model_command(CLI::App& app, const CommonOptions& common, int& exit_code);
/// `trl-host merge-adapter --model BASE --adapter DIR --out DIR`: a LoRA adapter merged into its base.
void add_merge_adapter_command(CLI::App& app, const CommonOptions& common, int& exit_code);
/// `trl-host logits --model DIR --ids 1,2,3 --out FILE`: a forward pass's logits in a safetensors file.
void add_logits_command(CLI::App& app, const CommonOptions& common, int& exit_code);
void add_plot_command(CLI::App& app, const CommonOptions& common, int& exit_code);
/// `trl-host dpo|gfpo ...`: TRL-style flags mapped to a run config (trl_flags_command.cpp).
void add_trl_flags_commands(CLI::App& app, const CommonOptions& common, int& exit_code);

/// Runs a checked run config as `train` does (plugins, model, loop); apply_common_options() must have
/// run. Returns the exit code (128 + signal when a stop signal ended the run).
int run_training(const CommonOptions& common, const RunConfig& run);
/// `trl-host launch --nproc-per-node N ... train CONFIG`: starts this node's data-parallel ranks (launch_command.cpp).
void add_launch_command(CLI::App& app, const CommonOptions& common, int& exit_code);

}  // namespace trl::host
