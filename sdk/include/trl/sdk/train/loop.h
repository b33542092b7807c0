// trl/sdk/train/loop.h: the training loop every trainer shares, its state, and what callbacks receive.
//
// TrainingLoop::run reads top to bottom: for each optimizer step, gradient_accumulation_steps calls to
// Trainer::compute_loss and backward, clip, AdamW step, schedule step, callbacks, then periodic logging,
// evaluation and checkpoints. SIGINT/SIGTERM finish the current step, save a checkpoint and return.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace torch::optim {
class Optimizer;
}

namespace trl {

class Callback;
class CausalLM;
class LrScheduler;
class Tokenizer;
class Trainer;
struct TrainerContext;
struct TrainingArguments;

/// Progress of a run; saved as trainer_state.json in every checkpoint (transformers' field names).
struct TrainerState {
  int64_t global_step = 0;          ///< optimizer steps completed
  int64_t max_steps = 0;            ///< total optimizer steps of the run
  double epoch = 0.0;               ///< fractional epochs completed
  double num_train_epochs = 0.0;    ///< epochs the run covers
  int64_t logging_steps = 0;        ///< from the arguments
  int64_t eval_steps = 0;           ///< from the arguments
  int64_t save_steps = 0;           ///< from the arguments
  int64_t train_batch_size = 0;     ///< per-device micro-batch size
  int64_t steps_per_epoch = 0;      ///< optimizer steps in one epoch
  nlohmann::json log_history = nlohmann::json::array();  ///< every logged object so far
  /// The HF trainer_state.json object.
  nlohmann::json to_json() const;
  /// Reads trainer_state.json; throws CheckpointError naming `file` on a bad field.
  static TrainerState from_json(const nlohmann::json& j, const std::string& file);
};

/// Flags callbacks set to steer the loop; reset by the loop after it acts on them.
struct TrainerControl {
  bool should_training_stop = false;  ///< stop after this step (a checkpoint is saved)
  bool should_save = false;           ///< save a checkpoint after this step
  bool should_log = false;            ///< log after this step
  bool should_evaluate = false;       ///< evaluate after this step
};

/// What every callback event receives.
struct CallbackArgs {
  const TrainingArguments& args;            ///< the run's training arguments
  TrainerState& state;                      ///< progress (global_step already counts the finished step)
  TrainerControl& control;                  ///< flags the callback may set
  CausalLM& model;                          ///< the policy
  CausalLM* ref_model;                      ///< the trainer's reference model, or nullptr
  torch::optim::Optimizer* optimizer;       ///< the AdamW optimizer
  const LrScheduler* lr_scheduler;          ///< the schedule
  const Tokenizer& tokenizer;               ///< the policy's tokenizer (to save a model dir)
};

/// How a run ended.
struct TrainResult {
  int64_t global_step = 0;   ///< steps completed
  double train_loss = 0.0;   ///< mean loss over the steps of this process
  int signal = 0;            ///< SIGINT/SIGTERM if interrupted (a checkpoint was saved), else 0
};

/// Runs a trainer with callbacks over ctx.model; owns optimizer, schedule, logging and checkpoints.
class TrainingLoop {
 public:
  /// `ctx`, `trainer` and `callbacks` must outlive run(). The trainer must be prepared by run() itself.
  TrainingLoop(TrainerContext& ctx, Trainer& trainer, std::vector<Callback*> callbacks);
  ~TrainingLoop();
  /// Prepares the trainer, resumes if asked, trains, saves the final model. Throws on failure.
  TrainResult run();

 private:
  TrainerContext& ctx_;
  Trainer& trainer_;
  std::vector<Callback*> callbacks_;
};

}  // namespace trl
