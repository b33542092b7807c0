// The `dpo` trainer (see dpo_trainer.h).
#include "dpo_trainer.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "dpo_batch_dump.h"
#include "dpo_loss.h"
#include "dpo_pair_forward.h"
#include "dpo_params.h"
#include "dpo_sequence_logps.h"
#include "dpo_token_metrics.h"
#include "trl/sdk/data/dataset.h"
#include "trl/sdk/dist/process_group.h"
#include "trl/sdk/error.h"
#include "trl/sdk/log.h"
#include "trl/sdk/model/causal_lm.h"
#include "trl/sdk/model/token_stats.h"
#include "trl/sdk/tokenizer/tokenizer.h"
#include "trl/sdk/train/context.h"
#include "trl/sdk/train/metrics.h"
#include "trl/sdk/train/training_args.h"

namespace trl::dpo {
namespace fs = std::filesystem;

ParamTable dpo_trainer_params() {
  ParamTable table = dpo_params();
  // DPOConfig changes two TrainingArguments defaults; redeclaring them here makes the host's merge use ours.
  const ParamTable shared = training_arguments_params();
  for (const char* key : {"learning_rate", "logging_steps"}) {
    const ParamSpec* spec = shared.find(key);
    TRL_INTERNAL_ASSERT(spec != nullptr, std::string("TrainingArguments lacks ") + key);
    table.add(spec->name, spec->type, spec->default_value, spec->help) = *spec;
  }
  apply_dpo_training_defaults(table);
  return table;
}

// ---- construction -----------------------------------------------------------------------------------

DpoTrainer::DpoTrainer(const Args& args) : loss_config_(dpo_loss_config_from_args(args)) {
  check_dpo_args(args);
  tokenize_options_.max_length = args.optional_integer("max_length");
  tokenize_options_.truncation_mode = parse_truncation_mode(args.string("truncation_mode"), "truncation_mode");
  tokenize_options_.max_prompt_length = args.optional_integer("max_prompt_length");
  tokenize_options_.max_completion_length = args.optional_integer("max_completion_length");
  pad_to_multiple_of_ = args.optional_integer("pad_to_multiple_of");
  precompute_ref_log_probs_ = args.boolean("precompute_ref_log_probs");
  precompute_ref_batch_size_ = args.optional_integer("precompute_ref_batch_size");
  sync_ref_model_ = args.boolean("sync_ref_model");
  ref_model_mixup_alpha_ = args.number("ref_model_mixup_alpha");
  ref_model_sync_steps_ = args.integer("ref_model_sync_steps");
  gradient_accumulation_steps_ = args.integer("gradient_accumulation_steps");
}

DpoTrainer::~DpoTrainer() = default;

// ---- prepare ----------------------------------------------------------------------------------------

void DpoTrainer::prepare(TrainerContext& ctx) {
  if (ctx.run.train_dataset.empty()) throw ConfigError(ctx.run.path, "train_dataset", "`train_dataset` is required");
  const std::optional<int64_t> pad = ctx.tokenizer.pad_token_id();
  if (!pad) throw ConfigError(ctx.run.path, "model", "the tokenizer has neither a pad nor an EOS token to pad with");
  pad_id_ = *pad;

  int64_t dropped = 0;
  train_pairs_ = tokenize_preferences(load_preference_dataset(ctx.run.train_dataset), ctx.tokenizer,
                                      tokenize_options_, &dropped);
  if (ctx.run.eval_dataset) {
    eval_pairs_ = tokenize_preferences(load_preference_dataset(*ctx.run.eval_dataset), ctx.tokenizer,
                                       tokenize_options_, &dropped);
  }
  batch_dump_ = BatchDump::from_environment();
  log::info("dpo: " + std::to_string(train_pairs_.size()) + " training pairs" +
            (ctx.run.eval_dataset ? ", " + std::to_string(eval_pairs_.size()) + " eval pairs" : std::string()));

  const TrainingArguments& args = ctx.args;
  sampler_ = std::make_unique<EpochSampler>(static_cast<int64_t>(train_pairs_.size()),
                                            args.per_device_train_batch_size,
                                            static_cast<uint64_t>(args.effective_data_seed()), /*shuffle=*/true,
                                            args.dataloader_drop_last);
  // Data parallel: each rank takes its slice of every global batch (world_size x per-device rows).
  if (ctx.process_group != nullptr)
    sampler_ = std::make_unique<EpochSampler>(
        sampler_->sharded(ctx.process_group->rank(), ctx.process_group->world_size()));

  // The reference (§1.4): an explicit model; with PEFT the policy with its adapters off; else a frozen copy
  // of the initial policy. TRL refuses TR-DPO with PEFT (NotImplementedError).
  if (sync_ref_model_ && !ctx.run.peft.is_null())
    throw ConfigError(ctx.run.path, "args.sync_ref_model",
                      "TR-DPO (sync_ref_model) is not supported with a peft block, as in TRL; set it to false");
  // Also with reference_free: the loss ignores the reference but the rewards/* metrics use it (legacy TRL).
  reference_ = ReferenceModel::from_context(ctx);
  if (precompute_ref_log_probs_) {
    precompute_reference(ctx, train_pairs_, ctx.args.per_device_train_batch_size);
    precompute_reference(ctx, eval_pairs_, ctx.args.per_device_eval_batch_size);
    // The columns now carry the reference; a model kept only for them would double the memory (TRL frees
    // it too). Callbacks then see no reference model, which BEMA refuses clearly.
    reference_.reset();
  }
}

int64_t DpoTrainer::micro_batches_per_epoch() const { return sampler_->batches_per_epoch(); }

PreferenceBatch DpoTrainer::collate(const std::vector<const TokenizedPair*>& pairs) const {
  return collate_preferences(pairs, pad_id_, tokenize_options_.max_length, tokenize_options_.truncation_mode,
                             pad_to_multiple_of_);
}

namespace {

// Labels of the shifted sequence: position t predicts token t+1, kept only where that token is a
// completion token (§1.4). input_ids, completion_mask: (2B, T) → (2B, T−1) int64, −100 elsewhere.
at::Tensor shifted_labels(const PreferenceBatch& batch) {
  using at::indexing::Slice;
  const at::Tensor next = batch.input_ids.index({Slice(), Slice(1, at::indexing::None)});
  const at::Tensor keep = batch.completion_mask.index({Slice(), Slice(1, at::indexing::None)}).to(at::kBool);
  return next.masked_fill(~keep, kIgnoreIndex);
}

// hidden[:, :-1]: the positions that predict a next token.
at::Tensor predicting_positions(const at::Tensor& hidden) {
  using at::indexing::Slice;
  return hidden.index({Slice(), Slice(at::indexing::None, -1)});
}

}  // namespace

namespace {

// The contiguous share [lo, hi) of `count` items that this rank takes (all of them without a group): the
// first count % world ranks take one more than the others; a rank may take none.
std::pair<size_t, size_t> rank_share(size_t count, const dist::ProcessGroup* pg, size_t start = 0) {
  if (pg == nullptr) return {start, start + count};
  const size_t world = static_cast<size_t>(pg->world_size()), rank = static_cast<size_t>(pg->rank());
  const size_t base = count / world, extra = count % world;
  const size_t lo = start + rank * base + std::min(rank, extra);
  return {lo, lo + base + (rank < extra ? 1 : 0)};
}

}  // namespace

void DpoTrainer::precompute_reference(TrainerContext& ctx, std::vector<TokenizedPair>& pairs,
                                      int64_t default_batch_size) {
  // TRL's precompute pass: the reference (the initial policy unless ref_model is given), without gradient,
  // LD-weighted like the live reference (§1.4), in batches of precompute_ref_batch_size.
  const int64_t batch_size = precompute_ref_batch_size_.value_or(default_batch_size);
  if (!pairs.empty())
    log::info("dpo: precomputing reference log-probs of " + std::to_string(pairs.size()) + " pairs in batches of " +
              std::to_string(batch_size));
  at::NoGradGuard no_grad;
  // Data parallel: each rank computes a contiguous share [lo, hi) of the pairs, then every rank receives
  // all of them (docs/distributed.md), so the work is split and every replica holds the same columns.
  dist::ProcessGroup* const pg = ctx.process_group;
  const auto [lo, hi] = rank_share(pairs.size(), pg);
  for (size_t start = lo; start < hi; start += static_cast<size_t>(batch_size)) {
    std::vector<const TokenizedPair*> chunk;
    for (size_t i = start; i < std::min(hi, start + static_cast<size_t>(batch_size)); ++i)
      chunk.push_back(&pairs[i]);
    const PreferenceBatch batch = collate(chunk).to(ctx.device);
    const at::Tensor labels = shifted_labels(batch);
    DpoTokenInputs tokens;
    tokens.per_token_logps = reference_->run([&](const CausalLM& ref) {
      const at::Tensor hidden = pair_hidden_states(ref, batch.input_ids, batch.attention_mask);
      return token_stats(ref, predicting_positions(hidden), labels).logps;
    });
    tokens.label_mask = labels.ne(kIgnoreIndex);
    const at::Tensor logps = sequence_logps(tokens.per_token_logps, tokens.label_mask, loss_config_.ld_alpha)
                                 .to(at::kDouble)
                                 .cpu();  // (2B,)
    const int64_t b = static_cast<int64_t>(chunk.size());
    for (int64_t i = 0; i < b; ++i) {
      pairs[start + i].ref_chosen_logps = logps[i].item<double>();
      pairs[start + i].ref_rejected_logps = logps[b + i].item<double>();
    }
  }
  if (pg == nullptr) return;
  at::Tensor local = at::empty({static_cast<int64_t>(hi - lo), 2}, at::kDouble);  // (pairs of this rank, 2)
  for (size_t i = lo; i < hi; ++i) {
    local[static_cast<int64_t>(i - lo)][0] = *pairs[i].ref_chosen_logps;
    local[static_cast<int64_t>(i - lo)][1] = *pairs[i].ref_rejected_logps;
  }
  const at::Tensor all = at::cat(pg->all_gather_rows(local)).contiguous();  // (pairs, 2), in rank order
  const double* v = all.data_ptr<double>();
  for (size_t i = 0; i < pairs.size(); ++i) {
    pairs[i].ref_chosen_logps = v[2 * i];
    pairs[i].ref_rejected_logps = v[2 * i + 1];
  }
}

// ---- the loss -----------------------------------------------------------------------------------------

struct DpoTrainer::BatchLoss {
  DpoLossResult loss;
  DpoTokenMetricSums token_sums;
  double attention_tokens = 0.0;
};

DpoTrainer::BatchLoss DpoTrainer::batch_loss(TrainerContext& ctx, const std::vector<const TokenizedPair*>& pairs,
                                             bool with_token_metrics) {
  const PreferenceBatch batch = collate(pairs).to(ctx.device);
  const at::Tensor labels = shifted_labels(batch);  // (2B, L)
  const DpoLossNeeds needs = dpo_loss_needs(loss_config_);

  // One forward of the policy over all 2B rows, each prompt computed once (dpo_pair_forward.h); statistics
  // only at completion positions.
  TokenStatsOptions options;
  options.entropy = options.mean_logit = options.argmax_hit = with_token_metrics;
  options.log_sum_p2 = needs.wpo_weights;
  TokenStats stats;
  const auto policy_forward = [&] {
    const at::Tensor hidden = pair_hidden_states(ctx.model, batch.input_ids, batch.attention_mask);  // (2B, T, H)
    stats = token_stats(ctx.model, predicting_positions(hidden), labels, options);
  };

  DpoTokenInputs tokens;
  const bool precomputed = batch.ref_chosen_logps.defined();
  if (precomputed) {
    policy_forward();
  } else {
    // The reference's forward, the same way without gradient, beside the policy's where that is faster
    // (ReferenceModel::run_beside; otherwise after it).
    TRL_INTERNAL_ASSERT(reference_ != nullptr, "dpo needs a reference model but has none");
    tokens.ref_per_token_logps = reference_->run_beside(
        [&](const CausalLM& ref) {
          const at::Tensor ref_hidden = pair_hidden_states(ref, batch.input_ids, batch.attention_mask);
          return token_stats(ref, predicting_positions(ref_hidden), labels).logps;
        },
        policy_forward);
  }
  tokens.per_token_logps = stats.logps;
  tokens.label_mask = labels.ne(kIgnoreIndex);
  tokens.completion_mask = batch.completion_mask;
  tokens.log_sum_p2 = stats.log_sum_p2;
  DpoLossInputs inputs = dpo_loss_inputs(tokens, loss_config_);
  if (precomputed) {
    inputs.ref_chosen_logps = batch.ref_chosen_logps.to(stats.logps.scalar_type());
    inputs.ref_rejected_logps = batch.ref_rejected_logps.to(stats.logps.scalar_type());
  }

  BatchLoss out{dpo_loss(inputs, loss_config_), {}, batch.attention_mask.sum().item<double>()};
  if (with_token_metrics)
    out.token_sums = dpo_token_metric_sums(stats.entropy, stats.mean_logit, stats.argmax_hit, tokens.label_mask);
  return out;
}

void DpoTrainer::gather_metrics(dist::ProcessGroup& group, std::vector<std::pair<std::string, at::Tensor>>& loss_metrics,
                                BatchLoss& result) {
  // TRL (§1.7): the row metrics are means of gather_for_metrics(...) over all processes; every rank holds
  // the same number of rows, so that is the mean of the ranks' means. The token metrics are sums and
  // counts summed over processes before dividing, and num_tokens counts every process's tokens.
  std::vector<at::Tensor> values;
  for (const auto& entry : loss_metrics) values.push_back(entry.second.detach().to(at::kDouble).reshape({1}));
  values.push_back(result.token_sums.packed().cpu());
  values.push_back(at::tensor({result.attention_tokens}, at::kDouble));
  at::Tensor packed = at::cat(values).cpu().contiguous();  // (M + 7 + 1,) float64
  group.all_reduce_sum(packed);
  const int64_t m = static_cast<int64_t>(loss_metrics.size());
  for (int64_t i = 0; i < m; ++i)
    loss_metrics[static_cast<size_t>(i)].second = packed[i] / static_cast<double>(group.world_size());
  result.token_sums = DpoTokenMetricSums::from_packed(packed.narrow(0, m, 7));
  result.attention_tokens = packed[m + 7].item<double>();
}

at::Tensor DpoTrainer::compute_loss(TrainerContext& ctx, int64_t micro_batch_index, Metrics& metrics) {
  const std::vector<int64_t> indices = sampler_->batch(micro_batch_index);
  std::vector<const TokenizedPair*> pairs;
  for (int64_t i : indices) pairs.push_back(&train_pairs_[static_cast<size_t>(i)]);

  if (batch_dump_ != nullptr) batch_dump_->write(micro_batch_index, indices, collate(pairs));
  BatchLoss result = batch_loss(ctx, pairs, /*with_token_metrics=*/true);
  std::vector<std::pair<std::string, at::Tensor>> loss_metrics = result.loss.metrics();
  if (ctx.process_group != nullptr) gather_metrics(*ctx.process_group, loss_metrics, result);
  for (const auto& [name, value] : loss_metrics) metrics.add(name, value);
  for (const auto& [name, value] : result.token_sums.metrics()) metrics.add(name, value);
  num_tokens_ += result.attention_tokens;
  metrics.set("num_tokens", num_tokens_);
  // Trainer's standard accumulation scaling (§1.5 "Total loss").
  return result.loss.loss / static_cast<double>(gradient_accumulation_steps_);
}

// ---- TR-DPO, evaluation, state ---------------------------------------------------------------------

void DpoTrainer::on_optimizer_step(TrainerContext& ctx, int64_t global_step) {
  if (!sync_ref_model_ || global_step % ref_model_sync_steps_ != 0) return;
  // TR-DPO soft update (§1.6); prepare() refused it with a peft block.
  reference_->mix_in(ctx.model, ref_model_mixup_alpha_, ctx.run.path, "args.sync_ref_model");
}

bool DpoTrainer::has_eval_data() const { return !eval_pairs_.empty(); }

void DpoTrainer::evaluate(TrainerContext& ctx, Metrics& metrics) {
  // As transformers' evaluation loop: eval_loss is the mean over examples (batches weighted by size);
  // the DPO metrics are means over batches (TRL's prediction_step appends once per batch). Data parallel:
  // an eval batch is world x per_device_eval_batch_size pairs, shared out by rank_share, and its metrics are
  // gathered over every rank's rows (row means weighted by rows, token metrics summed), so they equal one
  // process's with the world-size batch (docs/distributed.md).
  dist::ProcessGroup* const pg = ctx.process_group;
  const size_t world = pg != nullptr ? static_cast<size_t>(pg->world_size()) : 1;
  const size_t batch_size = static_cast<size_t>(ctx.args.per_device_eval_batch_size) * world;
  double loss_sum = 0.0;
  for (size_t start = 0; start < eval_pairs_.size(); start += batch_size) {
    const auto [lo, hi] = rank_share(std::min(eval_pairs_.size(), start + batch_size) - start, pg, start);
    std::vector<const TokenizedPair*> chunk;
    for (size_t i = lo; i < hi; ++i) chunk.push_back(&eval_pairs_[i]);
    const double rows = static_cast<double>(chunk.size());
    // A rank without a pair in this batch runs the batch's first pair with weight 0, so that every rank
    // makes the same collective with the same metric layout.
    if (chunk.empty()) chunk.push_back(&eval_pairs_[start]);
    BatchLoss result = batch_loss(ctx, chunk, /*with_token_metrics=*/true);
    std::vector<std::pair<std::string, at::Tensor>> loss_metrics = result.loss.metrics();
    double batch_loss_sum = result.loss.loss.item<double>() * rows;
    if (pg != nullptr) {
      std::vector<at::Tensor> values{at::tensor({batch_loss_sum, rows}, at::kDouble)};
      for (const auto& entry : loss_metrics) values.push_back(entry.second.detach().to(at::kDouble).reshape({1}) * rows);
      values.push_back(result.token_sums.packed().to(at::kCPU, at::kDouble) * (rows > 0 ? 1.0 : 0.0));
      at::Tensor packed = at::cat(values).contiguous();  // (2 + M + 7,) float64
      pg->all_reduce_sum(packed);
      batch_loss_sum = packed[0].item<double>();
      const at::Tensor total_rows = packed[1];
      for (size_t i = 0; i < loss_metrics.size(); ++i)
        loss_metrics[i].second = packed[static_cast<int64_t>(2 + i)] / total_rows;
      result.token_sums = DpoTokenMetricSums::from_packed(packed.narrow(0, static_cast<int64_t>(2 + loss_metrics.size()), 7));
    }
    loss_sum += batch_loss_sum;
    for (const auto& [name, value] : loss_metrics) metrics.add(name, value);
    for (const auto& [name, value] : result.token_sums.metrics()) metrics.add(name, value);
  }
  metrics.set("loss", loss_sum / static_cast<double>(eval_pairs_.size()));
  metrics.set("num_tokens", num_tokens_);  // TRL reports the training total in eval too (§6.A A10)
}

CausalLM* DpoTrainer::ref_model() { return reference_ != nullptr ? reference_->separate_model() : nullptr; }

void DpoTrainer::save_state(TrainerContext& ctx, const std::string& checkpoint_dir) const {
  std::ofstream(checkpoint_dir + "/dpo_state.json") << nlohmann::json{{"num_tokens", num_tokens_}}.dump() << "\n";
  // A reference that moved (TR-DPO) must come back as it was for an exact resume.
  if (sync_ref_model_ && reference_ != nullptr && reference_->separate_model() != nullptr) {
    reference_->separate_model()->save_pretrained(checkpoint_dir + "/ref_model");
    ctx.tokenizer.save(checkpoint_dir + "/ref_model");
  }
}

void DpoTrainer::load_state(TrainerContext& ctx, const std::string& checkpoint_dir) {
  const std::string state_file = checkpoint_dir + "/dpo_state.json";
  std::ifstream in(state_file);
  if (!in) throw CheckpointError(checkpoint_dir, "missing dpo_state.json");
  try {
    num_tokens_ = nlohmann::json::parse(in).at("num_tokens").get<double>();
  } catch (const nlohmann::json::exception& e) {
    throw CheckpointError(state_file, e.what());
  }
  if (sync_ref_model_ && reference_ != nullptr && reference_->separate_model() != nullptr) {
    const std::string ref_dir = checkpoint_dir + "/ref_model";
    if (!fs::is_directory(ref_dir)) throw CheckpointError(checkpoint_dir, "missing ref_model/ (sync_ref_model)");
    reference_->separate_model()->copy_weights_from(*CausalLM::from_pretrained(ref_dir, {ctx.device, ctx.dtype}));
  }
}

}  // namespace trl::dpo
