// plugins/dpo/dpo_trainer.h: the `dpo` trainer component, TRL's DPOTrainer (HEAD) on the SDK's loop.
//
// prepare() tokenizes the preference data (spec §1.3), takes the SDK's reference model (an explicit
// ref_model dir; with a peft block the policy with its adapters off; else a frozen copy of the initial
// policy; with reference_free too, for the rewards/* metrics) and optionally
// precomputes reference log-probs. compute_loss() runs chosen and rejected in one forward of 2B rows,
// takes per-token statistics only at completion positions (token_stats: never a (2B, T, V)
// log-softmax), and hands them to the loss library (dpo_loss.h). TR-DPO syncs the reference after
// optimizer steps (§1.6). Letters: B pairs, T padded length, L = T − 1 label positions.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "dpo_loss_config.h"
#include "trl/sdk/data/preference.h"
#include "trl/sdk/data/sampler.h"
#include "trl/sdk/plugin.h"
#include "trl/sdk/train/reference_model.h"

namespace trl::dist {
class ProcessGroup;
}

namespace trl::dpo {

class BatchDump;

/// TRL's DPOTrainer as a trl::Trainer.
class DpoTrainer : public Trainer {
 public:
  /// `args` validated against training_arguments_params() + dpo_params(); refuses bad combinations.
  explicit DpoTrainer(const Args& args);
  ~DpoTrainer() override;

  void prepare(TrainerContext& ctx) override;
  int64_t micro_batches_per_epoch() const override;
  at::Tensor compute_loss(TrainerContext& ctx, int64_t micro_batch_index, Metrics& metrics) override;
  void on_optimizer_step(TrainerContext& ctx, int64_t global_step) override;
  bool has_eval_data() const override;
  void evaluate(TrainerContext& ctx, Metrics& metrics) override;
  CausalLM* ref_model() override;
  void save_state(TrainerContext& ctx, const std::string& checkpoint_dir) const override;
  void load_state(TrainerContext& ctx, const std::string& checkpoint_dir) override;

 private:
  struct BatchLoss;
  /// The loss and metrics of one collated batch (on the CPU; moved to the device here).
  BatchLoss batch_loss(TrainerContext& ctx, const std::vector<const TokenizedPair*>& pairs, bool with_token_metrics);
  /// Replaces one micro-batch's metrics by their values over every rank (data parallel, spec §1.7).
  static void gather_metrics(dist::ProcessGroup& group, std::vector<std::pair<std::string, at::Tensor>>& loss_metrics,
                             BatchLoss& result);
  /// Reference log-probs for every pair of `pairs`, in batches (precompute_ref_log_probs).
  /// `default_batch_size` applies when precompute_ref_batch_size is null: the train or the eval batch size, as TRL.
  void precompute_reference(TrainerContext& ctx, std::vector<TokenizedPair>& pairs, int64_t default_batch_size);
  PreferenceBatch collate(const std::vector<const TokenizedPair*>& pairs) const;

  DpoLossConfig loss_config_;
  PreferenceTokenizeOptions tokenize_options_;
  std::optional<int64_t> pad_to_multiple_of_;
  bool precompute_ref_log_probs_ = false;
  std::optional<int64_t> precompute_ref_batch_size_;
  bool sync_ref_model_ = false;
  double ref_model_mixup_alpha_ = 0.6;
  int64_t ref_model_sync_steps_ = 512;
  int64_t gradient_accumulation_steps_ = 1;

  int64_t pad_id_ = 0;
  std::vector<TokenizedPair> train_pairs_;
  std::vector<TokenizedPair> eval_pairs_;
  std::unique_ptr<EpochSampler> sampler_;
  std::unique_ptr<ReferenceModel> reference_;  ///< null after precompute
  std::unique_ptr<BatchDump> batch_dump_;      ///< TRL_DPO_DUMP_BATCHES (dpo_batch_dump.h); null when unset
  double num_tokens_ = 0.0;  ///< running attention-mask total over training (prompts counted twice), TRL's num_tokens
};

/// The trainer's declared parameters: TRL's DPOConfig (dpo_params()) without the TrainingArguments,
/// which the host merges in.
ParamTable dpo_trainer_params();

}  // namespace trl::dpo
