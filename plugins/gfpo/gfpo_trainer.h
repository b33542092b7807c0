// plugins/gfpo/gfpo_trainer.h: the `gfpo` trainer component: TRL's GRPO engine (spec §3) with GFPO's group
// filtering (spec §4, trl.experimental.gfpo.GFPOTrainer) on the SDK's loop.
//
// prepare() loads and tokenizes the prompt-only data, builds the reward functions and the group filter
// the run config names (through the host, so a plugin's component is used like a built-in), the reference
// model when beta != 0, and the RepeatSampler. compute_loss(micro_step) generates a new batch every
// steps_per_generation × num_iterations micro-steps: sample G completions per prompt, score them, filter
// the groups (training only), compute advantages, cut the kept rows into steps_per_generation micro-batches
// and buffer them; every micro-step then trains on its part of the buffer with the GRPO loss.
//
// The pieces, one file each: gfpo_trainer_rollout (tokenize, sample, decode), gfpo_trainer_scoring
// (rewards, filter, advantages), gfpo_trainer_buffer (micro-batches, checkpoint file), gfpo_trainer_loss
// (forward and loss), gfpo_trainer_log (completion metrics, completions.jsonl).
//
// Options of TRL's GRPOTrainer that live here rather than in the loss: TR-DPO's reference sync
// (sync_ref_model, after optimizer steps, as TRL's SyncRefModelCallback) and the adaptive entropy
// controller (use_adaptive_entropy: entropy_coef moves once per optimizer step from the window's entropy).
//
// Resume is exact: the buffer in use is saved with every checkpoint (gfpo_buffer.safetensors) and every
// group of a generation is sampled in its own generate() call seeded from (seed, generation index, the
// group's place in the generation batch), which also makes N data-parallel ranks sample exactly what one
// process samples (gfpo_trainer_dist.h, docs/distributed.md). The one exception is a stateful group filter (the
// built-in adaptive_difficulty keeps a history of group means): its state lives in the filter and is not
// checkpointed, so a resumed run starts it afresh.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gfpo_params.h"
#include "gfpo_trainer_buffer.h"
#include "gfpo_trainer_log.h"
#include "gfpo_trainer_loss.h"
#include "gfpo_trainer_rollout.h"
#include "gfpo_trainer_scoring.h"
#include "grpo_loss.h"
#include "grpo_sampler.h"
#include "trl/sdk/generate/generator.h"
#include "trl/sdk/plugin.h"
#include "trl/sdk/train/reference_model.h"

namespace trl::gfpo {

/// TRL's GFPOTrainer (GRPOTrainer when no group filter is configured) as a trl::Trainer.
class GfpoTrainer : public Trainer {
 public:
  /// `args` validated against training_arguments_params() merged with gfpo_trainer_params(). The
  /// configuration is resolved in prepare(), where the number of reward functions is known.
  explicit GfpoTrainer(const Args& args);
  ~GfpoTrainer() override;

  void prepare(TrainerContext& ctx) override;
  int64_t micro_batches_per_epoch() const override;
  /// The GRPO loss of one micro-step; at the last micro-step of an accumulation window it also runs the
  /// adaptive entropy controller and logs entropy_coef (when the entropy bonus is on), as TRL does.
  at::Tensor compute_loss(TrainerContext& ctx, int64_t micro_batch_index, Metrics& metrics) override;
  /// Writes the newest generation's completions to completions.jsonl when this step is a logging step, and
  /// with sync_ref_model mixes the policy into the reference every ref_model_sync_steps steps.
  void on_optimizer_step(TrainerContext& ctx, int64_t global_step) override;
  bool has_eval_data() const override;
  /// Generates for every eval prompt (num_generations_eval each), scores without filtering (spec §4.2),
  /// and reports the loss (GA 1) and every train metric but num_tokens.
  void evaluate(TrainerContext& ctx, Metrics& metrics) override;
  CausalLM* ref_model() override;
  void save_state(TrainerContext& ctx, const std::string& checkpoint_dir) const override;
  void load_state(TrainerContext& ctx, const std::string& checkpoint_dir) override;

  /// The resolved configuration (valid after prepare()).
  const GrpoConfig& config() const { return config_; }
  /// The generation batch in use: its index, dapo's N and its micro-batches (for tests and diagnostics).
  const GenerationBuffer& buffer() const { return buffer_; }
  /// Whether a group filter is active in training (a filter and num_remains_in_group are both set).
  bool filtering() const { return filter_ != nullptr && config_.num_remains_in_group.has_value(); }
  /// The entropy bonus's coefficient now (entropy_coef, moved by the adaptive controller).
  double entropy_coef() const { return entropy_coef_; }
  /// The coefficient a micro-step applies: entropy_coef, or under adaptive control entropy_coef while the
  /// last window's entropy was <= entropy_target and 0 otherwise (before the first window: 0).
  double applied_entropy_coef() const;

 private:
  /// Generates, scores, filters and buffers generation batch `generation`; adds its metrics.
  void generate_and_buffer(TrainerContext& ctx, int64_t generation, Metrics& metrics);
  /// The loss settings for training (GA, steps_per_generation) or evaluation (both 1) with dapo's N.
  LossSettings loss_settings(double num_items_in_batch, int64_t gradient_accumulation_steps,
                             int64_t steps_per_generation) const;
  /// Adds a micro-step's entropy sums to the window; at the window's end (`window_end`) reduces them over
  /// ranks, moves entropy_coef (adaptive control) and logs it.
  void entropy_window_step(TrainerContext& ctx, const GrpoLossOutput& out, bool window_end, Metrics& metrics);

  Args args_;
  GrpoConfig config_;
  GrpoLossConfig loss_config_;
  nlohmann::json chat_template_kwargs_;
  std::vector<PromptExample> train_prompts_;
  std::vector<PromptExample> eval_prompts_;
  RewardSet rewards_;
  std::unique_ptr<GroupFilter> filter_;
  std::unique_ptr<RepeatSampler> sampler_;
  SamplingParams sampling_;
  std::unique_ptr<ReferenceModel> reference_;  ///< only when beta != 0 (the KL term)
  bool needs_old_logps_ = false;
  GenerationBuffer buffer_;
  CompletionsLog completions_log_;
  int64_t num_processes_ = 1;  ///< data-parallel ranks (WORLD_SIZE)
  double num_tokens_ = 0.0;  ///< TRL's num_input_tokens_seen: prompt + completion tokens attended so far
  double entropy_coef_ = 0.0;                ///< TRL's self.entropy_coef
  double last_world_entropy_ = 0.0;          ///< entropy of the last window (+inf before the first), set in prepare
  double window_entropy_sum_ = 0.0;          ///< this window's Σ entropy over the bonus's tokens, this rank
  double window_entropy_tokens_ = 0.0;       ///< and their count
};

/// The trainer's declared parameters: gfpo_params() (GRPOConfig + num_remains_in_group), chat_template_kwargs,
/// and learning_rate / logging_steps redeclared with GRPOConfig's defaults (1e-6, 10); the host merges the
/// rest of TrainingArguments in.
ParamTable gfpo_trainer_params();

}  // namespace trl::gfpo
