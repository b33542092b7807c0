// TrainingLoop::run: the one function that owns training. Read it top to bottom: prepare, resume, then
// for each optimizer step accumulate micro-batch losses, clip, step, schedule, callbacks, and the periodic
// log / eval / checkpoint. Everything a trainer supplies goes through the Trainer interface.
#include "trl/sdk/train/loop.h"

#include <chrono>
#include <cstdio>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/optim/adamw.h>

#include "dist/data_parallel.h"
#include "train/autocast_scope.h"
#include "train/checkpoint.h"
#include "train/optimizer.h"
#include "train/policy_weights.h"
#include "train/progress_line.h"
#include "train/stop_signals.h"
#include "train/tensorboard_writer.h"
#include "trl/sdk/dist/process_group.h"
#include "trl/sdk/error.h"
#include "trl/sdk/log.h"
#include "trl/sdk/model/causal_lm.h"
#include "trl/sdk/model/lora.h"
#include "trl/sdk/model/safetensors.h"
#include "trl/sdk/plugin.h"
#include "trl/sdk/tokenizer/tokenizer.h"
#include "trl/sdk/train/context.h"
#include "trl/sdk/train/lr_schedule.h"
#include "trl/sdk/train/metrics.h"
#include "trl/sdk/train/training_args.h"

namespace trl {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// metrics.jsonl: one JSON object per log event, flushed at once so a crash loses nothing logged.
class MetricsLog {
 public:
  // A fresh run truncates; a resumed run rewrites the history its checkpoint carries.
  MetricsLog(const std::string& path, const nlohmann::json& history) : out_(path, std::ios::trunc) {
    if (!out_) throw ConfigError("args", "output_dir", "cannot write " + path);
    for (const auto& entry : history) write(entry);
  }
  void write(const nlohmann::json& entry) { out_ << entry.dump() << "\n" << std::flush; }

 private:
  std::ofstream out_;
};

// Routes log lines to output_dir/train.log for the duration of the run.
class RunLogFile {
 public:
  explicit RunLogFile(const std::string& path) { log::set_file_sink(path); }
  ~RunLogFile() { log::clear_file_sink(); }
};

at::Tensor rng_state() { return at::detail::getDefaultCPUGenerator().get_state(); }

void set_rng_state(const at::Tensor& state) {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

// "step 10 | loss 0.6931 | rewards/accuracies 0.75 | ...": a log entry for the console and train.log.
std::string format_log_line(const nlohmann::json& entry) {
  std::string line = "step " + std::to_string(entry.value("step", int64_t{0}));
  for (const auto& [name, value] : entry.items()) {
    if (name == "step") continue;
    char number[32];
    if (value.is_number()) {
      std::snprintf(number, sizeof number, "%.4g", value.get<double>());
      line += " | " + name + " " + number;
    } else {
      line += " | " + name + " " + value.dump();
    }
  }
  return line;
}

template <class F>
void for_each_callback(const std::vector<Callback*>& callbacks, F&& f) {
  for (Callback* cb : callbacks) f(*cb);
}

}  // namespace

TrainingLoop::TrainingLoop(TrainerContext& ctx, Trainer& trainer, std::vector<Callback*> callbacks)
    : ctx_(ctx), trainer_(trainer), callbacks_(std::move(callbacks)) {}

TrainingLoop::~TrainingLoop() = default;

TrainResult TrainingLoop::run() {
  const TrainingArguments& args = ctx_.args;
  // TrainingArguments' bf16 (transformers' bf16=True, checked by from_args): autocast_scope.h. Read from the
  // validated args, which every trainer's table has (training_arguments_params()).
  const bool bf16 = ctx_.trainer_args.has("bf16") && ctx_.trainer_args.boolean("bf16");
  CausalLM& model = ctx_.model;
  // Data parallel (docs/distributed.md): every rank runs this same loop; rank 0 alone writes outputs.
  dist::ProcessGroup* const pg = ctx_.process_group;
  const bool is_main = pg == nullptr || pg->is_main();
  const int64_t world_size = pg != nullptr ? pg->world_size() : 1;
  std::unique_ptr<RunLogFile> run_log;
  if (is_main) {
    // A user's path error (a file in the way, no permission) is a config error naming the key, not a
    // bare filesystem exception.
    std::error_code ec;
    fs::create_directories(args.output_dir, ec);
    if (ec) throw ConfigError("args", "output_dir", "cannot create " + args.output_dir + ": " + ec.message());
    run_log = std::make_unique<RunLogFile>(args.output_dir + "/train.log");
    write_text_atomically(args.output_dir + "/run_config.json",
                          nlohmann::json{{"run", ctx_.run.raw}, {"args", ctx_.trainer_args.json()}}.dump(2) + "\n");
  }
  at::manual_seed(static_cast<uint64_t>(args.seed));
  // Every replica starts from rank 0's weights (as DDP's constructor), before the trainer copies a reference.
  if (pg != nullptr) pg->broadcast(model.parameters(), /*root=*/0);

  // LoRA (run config "peft"): adapters on the policy, base frozen, before the trainer takes its reference.
  if (!ctx_.run.peft.is_null()) add_peft_adapters(ctx_);

  // ---- prepare: the trainer loads its data and reference model; the loop sizes the run from it.
  trainer_.prepare(ctx_);
  const int64_t ga = args.gradient_accumulation_steps;
  const int64_t micro_per_epoch = trainer_.micro_batches_per_epoch();
  if (micro_per_epoch <= 0) throw ConfigError("args", "train_dataset", "the trainer found no training batch");
  const int64_t steps_per_epoch = std::max<int64_t>(1, micro_per_epoch / ga);
  const int64_t max_steps =
      args.max_steps > 0 ? args.max_steps
                         : static_cast<int64_t>(std::ceil(args.num_train_epochs * static_cast<double>(steps_per_epoch)));

  TrainerState state;
  state.max_steps = max_steps;
  state.num_train_epochs = args.max_steps > 0 ? static_cast<double>(max_steps) / steps_per_epoch : args.num_train_epochs;
  state.logging_steps = args.logging_steps;
  state.eval_steps = args.eval_steps.value_or(args.logging_steps);
  state.save_steps = args.save_steps;
  state.train_batch_size = args.per_device_train_batch_size;
  state.steps_per_epoch = steps_per_epoch;
  ctx_.state = &state;

  const NamedParameters trainable = trainable_named_parameters(model);  // with LoRA: only A and B
  std::vector<at::Tensor> parameters;
  for (const auto& [name, p] : trainable) parameters.push_back(p);
  std::unique_ptr<torch::optim::AdamW> optimizer = make_adamw(trainable, args);
  const LrScheduler scheduler(args.lr_scheduler_type, args.learning_rate, LrScheduler::warmup_for(args, max_steps),
                              max_steps);

  // ---- resume: weights, optimizer, RNG, progress and the trainer's own state, exactly as saved.
  if (args.resume_from_checkpoint) {
    const std::string dir = resolve_checkpoint(args.output_dir, *args.resume_from_checkpoint);
    dist::check_world_size(dir, world_size);
    TrainerState saved = TrainerState::from_json(nlohmann::json::parse(read_text(dir + "/trainer_state.json")),
                                                 dir + "/trainer_state.json");
    state.global_step = saved.global_step;
    state.epoch = saved.epoch;
    state.log_history = saved.log_history;
    load_policy_weights(model, dir);
    load_optimizer_state(*optimizer, trainable, dir + "/optimizer.safetensors");
    set_rng_state(SafetensorsFile(dir + "/rng_state.safetensors").load(dist::rng_state_key(pg ? pg->rank() : 0)));
    trainer_.load_state(ctx_, dir);
    log::info("resumed from " + dir + " at step " + std::to_string(state.global_step));
  }
  std::unique_ptr<MetricsLog> metrics_log;
  if (is_main) metrics_log = std::make_unique<MetricsLog>(args.output_dir + "/metrics.jsonl", state.log_history);
  // With report_to tensorboard, the same entries as TensorBoard scalars; a resumed run starts a new
  // event file (in a new default folder, as transformers) with its new entries.
  std::unique_ptr<TensorBoardWriter> tensorboard;
  if (is_main && args.reports_to("tensorboard")) {
    tensorboard = std::make_unique<TensorBoardWriter>(tensorboard_logging_dir(args.logging_dir, args.output_dir));
    log::info("TensorBoard: " + tensorboard->path());
  }

  TrainerControl control;
  CallbackArgs cb{args, state, control, model, trainer_.ref_model(), optimizer.get(), &scheduler, ctx_.tokenizer};

  auto log_entry = [&](nlohmann::json entry) {
    entry["epoch"] = state.epoch;
    entry["step"] = state.global_step;
    state.log_history.push_back(entry);
    if (!is_main) {  // the same entry on every rank (metrics are gathered); callbacks still see it
      for_each_callback(callbacks_, [&](Callback& c) { c.on_log(cb, entry); });
      return;
    }
    metrics_log->write(entry);
    if (tensorboard) tensorboard->write(state.global_step, entry);
    log::info(format_log_line(entry));
    for_each_callback(callbacks_, [&](Callback& c) { c.on_log(cb, entry); });
  };

  auto evaluate = [&] {
    const Clock::time_point began = Clock::now();
    Metrics eval_metrics;
    {
      at::NoGradGuard no_grad;
      const AutocastScope mixed_precision(ctx_.device, bf16);
      trainer_.evaluate(ctx_, eval_metrics);
    }
    const nlohmann::json means = eval_metrics.means();
    nlohmann::json logs = nlohmann::json::object();
    for (const auto& [name, value] : means.items()) logs["eval_" + name] = value;
    logs["eval_runtime"] = seconds_since(began);
    log_entry(logs);
    for_each_callback(callbacks_, [&](Callback& c) { c.on_evaluate(cb, logs); });
  };

  // Every replica holds the same weights: the base model, the LoRA adapters (with a peft block they are
  // what trains, and model.parameters() are the base weights alone), and a separate reference model (which
  // BEMA or TR-DPO move). Collective; nothing without a group.
  auto check_replicas = [&] {
    dist::check_replicas_identical(pg, model.parameters(), "the policy");
    if (has_lora_adapters(model)) {
      std::vector<at::Tensor> adapters;
      for (const auto& [name, p] : lora_named_parameters(model)) adapters.push_back(p);
      dist::check_replicas_identical(pg, adapters, "the policy's LoRA adapters");
    }
    if (CausalLM* ref = trainer_.ref_model()) dist::check_replicas_identical(pg, ref->parameters(), "the reference model");
  };

  auto save_checkpoint = [&] {
    check_replicas();
    const std::vector<std::pair<std::string, at::Tensor>> rng_states = dist::gather_rng_states(pg, rng_state());
    if (!is_main) {  // rank 0 writes the checkpoint; callbacks still see the event
      const std::string dir = args.output_dir + "/" + checkpoint_name(state.global_step);
      for_each_callback(callbacks_, [&](Callback& c) { c.on_save(cb, dir); });
      return;
    }
    const std::string dir = write_checkpoint(args.output_dir, state.global_step, [&](const std::string& tmp) {
      save_policy(model, tmp);
      ctx_.tokenizer.save(tmp);
      save_optimizer_state(*optimizer, trainable, tmp + "/optimizer.safetensors");
      save_safetensors(tmp + "/rng_state.safetensors", rng_states);
      dist::write_world_size(tmp, world_size);
      write_text_atomically(tmp + "/trainer_state.json", state.to_json().dump(2) + "\n");
      write_text_atomically(tmp + "/training_args.json", ctx_.trainer_args.json().dump(2) + "\n");
      trainer_.save_state(ctx_, tmp);
    });
    if (args.save_total_limit) prune_checkpoints(args.output_dir, *args.save_total_limit);
    log::info("saved " + dir);
    for_each_callback(callbacks_, [&](Callback& c) { c.on_save(cb, dir); });
  };

  for_each_callback(callbacks_, [&](Callback& c) { c.on_train_begin(cb); });
  if (!is_main) log::set_level(std::max(log::level(), log::Level::warn));  // one rank reports progress
  log::info("training " + std::to_string(max_steps) + " steps (" + std::to_string(steps_per_epoch) +
            " per epoch, " + std::to_string(ga) + " micro-batches each)");

  // ---- the loop
  const StopSignals signals;
  ProgressLine progress(max_steps, state.global_step);
  Metrics metrics;
  const Clock::time_point began = Clock::now();
  const int64_t first_step = state.global_step;
  double loss_since_log = 0.0, total_loss = 0.0, grad_norm = 0.0;
  int64_t steps_since_log = 0;
  int stop_signal = 0;  // a SIGINT/SIGTERM that stopped this or another rank

  while (state.global_step < max_steps) {
    const int64_t step = state.global_step + 1;  // the step being taken, 1-based
    for_each_callback(callbacks_, [&](Callback& c) { c.on_step_begin(cb); });
    set_learning_rate(*optimizer, scheduler.lr_at(state.global_step));

    double step_loss = 0.0;
    for (int64_t micro = 0; micro < ga; ++micro) {
      at::Tensor loss;
      {
        // bf16=True: the forward pass and the loss under autocast, the backward outside it (as transformers).
        const AutocastScope mixed_precision(ctx_.device, bf16);
        loss = trainer_.compute_loss(ctx_, state.global_step * ga + micro, metrics);
      }
      const double value = loss.item<double>();
      if (!std::isfinite(value)) throw NonFiniteError(step, "the loss is " + std::to_string(value));
      loss.backward();
      step_loss += value;
    }
    // Averaged over ranks before clipping (as DDP): every replica then takes the same step.
    if (pg != nullptr) pg->all_reduce_gradients_mean(parameters);
    grad_norm = clip_grad_norm(parameters, args.max_grad_norm);
    if (!std::isfinite(grad_norm)) throw NonFiniteError(step, "the gradient norm is " + std::to_string(grad_norm));
    optimizer->step();
    drop_gradients(parameters);

    state.global_step = step;
    state.epoch = static_cast<double>(step) / static_cast<double>(steps_per_epoch);
    trainer_.on_optimizer_step(ctx_, step);
    for_each_callback(callbacks_, [&](Callback& c) { c.on_step_end(cb); });
    const dist::StepAgreement agreed = dist::agree_on_step(pg, step_loss, signals.received(), control.should_training_stop);
    step_loss = agreed.mean_loss;  // transformers logs the loss gathered over processes
    loss_since_log += step_loss;
    total_loss += step_loss;
    ++steps_since_log;
    if (is_main) progress.update(step, step_loss);

    if (step % args.logging_steps == 0 || (args.logging_first_step && step == 1) || control.should_log) {
      nlohmann::json entry = metrics.means();
      entry["loss"] = loss_since_log / static_cast<double>(steps_since_log);
      entry["grad_norm"] = grad_norm;
      // The rate this step used, as transformers 5 logs it (4.x logged the next step's; docs/parity.md).
      entry["learning_rate"] = scheduler.lr_at(step - 1);
      log_entry(entry);
      metrics.clear();
      loss_since_log = 0.0;
      steps_since_log = 0;
    }
    const bool eval_due = args.eval_strategy == "steps" && step % state.eval_steps == 0;
    if ((eval_due || control.should_evaluate) && trainer_.has_eval_data()) evaluate();
    const bool stopping = agreed.stop;
    if (agreed.signal != 0) stop_signal = agreed.signal;
    if ((args.save_steps > 0 && step % args.save_steps == 0) || control.should_save || stopping) save_checkpoint();
    control.should_log = control.should_evaluate = control.should_save = false;
    if (stopping) break;
  }

  // ---- the end: summary line, callbacks, final model (not when interrupted: the checkpoint has it).
  const double runtime = seconds_since(began);
  const int64_t steps_run = state.global_step - first_step;
  TrainResult result;
  result.global_step = state.global_step;
  result.train_loss = steps_run > 0 ? total_loss / static_cast<double>(steps_run) : 0.0;
  result.signal = signals.received() != 0 ? signals.received() : stop_signal;
  log_entry({{"train_loss", result.train_loss},
             {"train_runtime", runtime},
             {"train_steps_per_second", steps_run > 0 && runtime > 0 ? steps_run / runtime : 0.0}});
  for_each_callback(callbacks_, [&](Callback& c) { c.on_train_end(cb); });
  if (result.signal != 0) {
    log::warn("interrupted by signal " + std::to_string(result.signal) + " after step " +
              std::to_string(state.global_step) + "; resume with resume_from_checkpoint=last");
  } else {
    check_replicas();
  }
  if (result.signal == 0 && is_main) {
    save_policy(model, args.output_dir);
    ctx_.tokenizer.save(args.output_dir);
    log::info("saved the final model to " + args.output_dir);
  }
  ctx_.state = nullptr;
  return result;
}

}  // namespace trl
