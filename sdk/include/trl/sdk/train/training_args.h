// trl/sdk/train/training_args.h: the arguments every trainer shares, with Hugging Face / TRL names.
//
// A run config's "args" block holds these together with the trainer's own parameters (as TRL's
// DPOConfig subclasses transformers.TrainingArguments). training_arguments_params() declares them;
// TrainingArguments::from_args reads them back after validation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "trl/sdk/params.h"

namespace trl {

/// Learning-rate schedules (transformers' SchedulerType names).
enum class LrSchedulerType { constant, constant_with_warmup, linear, cosine };

/// The shared training arguments; field names and defaults are transformers.TrainingArguments'.
struct TrainingArguments {
  std::string output_dir;                         ///< where metrics, checkpoints and the final model go
  double num_train_epochs = 3.0;                  ///< epochs when max_steps <= 0 (fractions allowed)
  int64_t max_steps = -1;                         ///< optimizer steps; > 0 overrides num_train_epochs
  int64_t per_device_train_batch_size = 8;        ///< examples per micro-batch (pairs, for DPO)
  int64_t per_device_eval_batch_size = 8;         ///< examples per eval batch
  int64_t gradient_accumulation_steps = 1;        ///< micro-batches per optimizer step
  double learning_rate = 5e-5;                    ///< peak learning rate (trainers may change the default)
  double weight_decay = 0.0;                      ///< AdamW decoupled weight decay (not on biases/norms)
  double adam_beta1 = 0.9;                        ///< AdamW beta1
  double adam_beta2 = 0.999;                      ///< AdamW beta2
  double adam_epsilon = 1e-8;                     ///< AdamW epsilon
  double max_grad_norm = 1.0;                     ///< global L2 clip; <= 0 disables clipping
  LrSchedulerType lr_scheduler_type = LrSchedulerType::linear;  ///< schedule after warmup
  int64_t warmup_steps = 0;                       ///< linear warmup steps; wins over warmup_ratio when > 0
  double warmup_ratio = 0.0;                      ///< warmup as a fraction of the total steps
  int64_t logging_steps = 500;                    ///< log every N optimizer steps
  bool logging_first_step = false;                ///< also log step 1
  int64_t save_steps = 500;                       ///< checkpoint every N optimizer steps; 0 = only at the end
  std::optional<int64_t> save_total_limit;        ///< keep at most N checkpoints (oldest pruned)
  std::string eval_strategy = "no";               ///< "no" or "steps"
  std::optional<int64_t> eval_steps;              ///< evaluate every N steps; defaults to logging_steps
  int64_t seed = 42;                              ///< seeds model init, data order and sampling
  std::optional<int64_t> data_seed;               ///< seeds data order only; defaults to seed
  bool dataloader_drop_last = false;              ///< drop the last incomplete batch of an epoch
  std::optional<std::string> resume_from_checkpoint;  ///< a checkpoint dir, or "last" for the newest in output_dir
  std::string device = "cpu";                     ///< "cpu", "cuda" or "cuda:N"
  std::string torch_dtype = "float32";            ///< compute dtype of the policy: float32 | bfloat16 | float16
  int64_t num_threads = 0;                        ///< LibTorch intra-op threads; 0 = OMP_NUM_THREADS, else physical cores
  /// Integrations that receive the logs besides metrics.jsonl, as transformers normalises report_to:
  /// "all" (the default) becomes every integration trl-host has ({"tensorboard"}), "none" becomes empty.
  std::vector<std::string> report_to;
  /// TensorBoard folder; unset = TENSORBOARD_LOGGING_DIR if set, else output_dir/runs/<Mon DD_HH-MM-SS>_<host>.
  std::optional<std::string> logging_dir;

  /// Reads every field from validated args (a table that includes training_arguments_params()).
  static TrainingArguments from_args(const Args& args);
  /// The data-order seed: data_seed if set, else seed.
  int64_t effective_data_seed() const { return data_seed.value_or(seed); }
  /// Whether report_to includes `integration` ("tensorboard").
  bool reports_to(const std::string& integration) const;
};

/// Declares every TrainingArguments field with its transformers default; merge into a trainer's table.
ParamTable training_arguments_params();

}  // namespace trl
