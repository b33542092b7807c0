// `trl-host train CONFIG.json|.yaml [--set key=value ...]`: builds the trainer and callbacks the run config
// names (from plugins), loads the policy and tokenizer, and runs the SDK's training loop.
#include <csignal>
#include <iostream>

#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>

#include "cli.h"
#include "component_catalog.h"
#include "host_setup.h"
#include "plugin_probe.h"
#include "run_config.h"
#include "trl/sdk/dist/process_group.h"
#include "trl/sdk/error.h"
#include "trl/sdk/log.h"
#include "trl/sdk/model/causal_lm.h"
#include "trl/sdk/tokenizer/tokenizer.h"
#include "trl/sdk/train/loop.h"
#include "trl/sdk/train/training_args.h"

namespace trl::host {
namespace {

c10::ScalarType parse_dtype(const std::string& name) {
  if (name == "bfloat16") return c10::kBFloat16;
  if (name == "float16") return c10::kHalf;
  return c10::kFloat;
}

// The components a run builds, as (kind, name): the plugins to probe before loading any of them.
std::vector<std::pair<ComponentKind, std::string>> components_of(const RunConfig& run) {
  std::vector<std::pair<ComponentKind, std::string>> out = {{ComponentKind::trainer, run.trainer}};
  auto add = [&out](ComponentKind kind, const nlohmann::json& spec) {
    if (spec.is_string()) out.emplace_back(kind, spec.get<std::string>());
    if (spec.is_object() && spec.contains("name") && spec.at("name").is_string())
      out.emplace_back(kind, spec.at("name").get<std::string>());
  };
  for (const nlohmann::json& spec : run.callbacks) add(ComponentKind::callback, spec);
  for (const nlohmann::json& spec : run.reward_funcs) add(ComponentKind::reward, spec);
  add(ComponentKind::group_filter, run.group_filter);
  return out;
}

struct TrainOptions {
  std::string config;
  std::vector<std::string> overrides;
  bool resume = false;
  bool print_config = false;
};

int run_train(const CommonOptions& common, const TrainOptions& options) {
  apply_common_options(common);
  std::vector<std::string> overrides = options.overrides;
  if (options.resume) overrides.push_back("args.resume_from_checkpoint=last");
  const RunConfig run = load_run_config(options.config, overrides);
  if (options.print_config) {
    std::cout << run.raw.dump(2) << "\n";
    return kExitOk;
  }
  return run_training(common, run);
}

}  // namespace

int run_training(const CommonOptions& common, const RunConfig& run) {
  ComponentCatalog catalog(common);
  catalog.set_config_dir(config_folder(run.path));
  // A plugin that crashes, aborts or hangs at load is found in a child process and reported (exit 3)
  // instead of taking the run down with it.
  probe_before_loading(catalog, components_of(run), common, run.path);
  BuiltTrainer built = catalog.make_trainer(run.trainer, run.raw.value("args", nlohmann::json::object()), run.path);
  const TrainingArguments args = TrainingArguments::from_args(built.args);
  std::vector<std::unique_ptr<Callback>> callbacks;
  for (size_t i = 0; i < run.callbacks.size(); ++i)
    callbacks.push_back(catalog.make_callback(run.callbacks[i], run.path + ": callbacks[" + std::to_string(i) + "]"));
  // After the usage checks above (exit 2), before anything heavy: a missing input named with its key.
  check_input_paths(run);

  // A data-parallel rank when the environment says so (RANK, WORLD_SIZE, ...: `trl-host launch` or torchrun).
  const std::unique_ptr<dist::ProcessGroup> process_group = dist::ProcessGroup::from_environment();
  if (process_group)
    log::info("distributed: rank " + std::to_string(process_group->rank()) + " of " +
              std::to_string(process_group->world_size()) + " (Gloo)");
  at::set_num_threads(args.num_threads > 0 ? static_cast<int>(args.num_threads) : default_threads());
  const c10::Device device(args.device);
  const c10::ScalarType dtype = parse_dtype(args.torch_dtype);
  std::unique_ptr<CausalLM> model = CausalLM::from_pretrained(run.model, {device, dtype});
  model->set_requires_grad(true);
  std::unique_ptr<Tokenizer> tokenizer = Tokenizer::load(run.model);
  log::info("model " + run.model + ": " + model->config().architecture + ", " +
            std::to_string(model->config().num_parameters()) + " parameters, " + std::to_string(at::get_num_threads()) +
            " threads");

  TrainerContext ctx{run, args, built.args, *model, *tokenizer, catalog, device, dtype};
  ctx.process_group = process_group.get();
  std::vector<Callback*> callback_ptrs;
  for (auto& c : callbacks) callback_ptrs.push_back(c.get());
  TrainingLoop loop(ctx, *built.trainer, callback_ptrs);
  const TrainResult result = loop.run();
  if (result.signal != 0) return 128 + result.signal;  // 130 for SIGINT, 143 for SIGTERM
  return kExitOk;
}

void add_train_command(CLI::App& app, const CommonOptions& common, int& exit_code) {
  auto options = std::make_shared<TrainOptions>();
  auto* cmd = app.add_subcommand("train", "Train with the trainer plugin a run config names");
  cmd->add_option("config", options->config,
                  "Run config (JSON or YAML): trainer, model, train_dataset, args, callbacks, ...")
      ->required();
  cmd->add_option("--set", options->overrides,
                  "Override a config value: key=value (dotted path from the root, e.g. args.max_steps=10; a bare "
                  "key goes into args). Repeatable");
  cmd->add_flag("--resume", options->resume, "Resume from the newest checkpoint in output_dir");
  cmd->add_flag("--print-config", options->print_config,
                "Print the run config after --set overrides (JSON) and exit without training");
  cmd->callback([&common, &exit_code, options] { exit_code = run_train(common, *options); });
}

}  // namespace trl::host
