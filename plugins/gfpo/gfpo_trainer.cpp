// The `gfpo` trainer (see gfpo_trainer.h). N rows of a generation batch, K kept rows, G per prompt.
#include "gfpo_trainer.h"

#include <ATen/ATen.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "gfpo_trainer_dist.h"
#include "gfpo_trainer_loss.h"
#include "trl/sdk/data/dataset.h"
#include "trl/sdk/dist/process_group.h"
#include "trl/sdk/error.h"
#include "trl/sdk/log.h"
#include "trl/sdk/model/causal_lm.h"
#include "trl/sdk/tokenizer/tokenizer.h"
#include "trl/sdk/train/context.h"
#include "trl/sdk/train/loop.h"
#include "trl/sdk/train/metrics.h"
#include "trl/sdk/train/training_args.h"

namespace trl::gfpo {
namespace fs = std::filesystem;

namespace {

constexpr const char* kStateFile = "gfpo_state.json";
constexpr const char* kBufferFile = "gfpo_buffer.safetensors";
constexpr const char* kRefModelDir = "ref_model";  // the synced reference (sync_ref_model), as the dpo trainer
constexpr double kInf = std::numeric_limits<double>::infinity();

void add_all(Metrics& metrics, const std::vector<std::pair<std::string, double>>& values) {
  for (const auto& [name, value] : values) metrics.add(name, value);
}

// The loss metrics; low_min / high_max are NaN when every row's mask is empty, and TRL's log() drops NaN
// while Metrics would keep it, so those two are read here and skipped when NaN.
void add_loss_metrics(Metrics& metrics, const GrpoLossOutput& out) {
  for (const auto& [name, value] : out.metrics) {
    if (name == "clip_ratio/low_min" || name == "clip_ratio/high_max") {
      const double v = value.item<double>();
      if (!std::isnan(v)) metrics.add(name, v);
    } else {
      metrics.add(name, value);
    }
  }
}

std::vector<double> to_doubles(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kCPU, at::kDouble).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

}  // namespace

ParamTable gfpo_trainer_params() {
  ParamTable table = gfpo_params();
  table.add("chat_template_kwargs", ParamType::object, nullptr,
            "extra arguments for the chat template of conversational prompts, e.g. {\"enable_thinking\": false}; "
            "a row's own chat_template_kwargs column overrides them key by key");
  // GRPOConfig changes two TrainingArguments defaults; redeclaring them here makes the host's merge use ours.
  const ParamTable shared = training_arguments_params();
  for (const char* key : {"learning_rate", "logging_steps"}) {
    const ParamSpec* spec = shared.find(key);
    TRL_INTERNAL_ASSERT(spec != nullptr, std::string("TrainingArguments lacks ") + key);
    table.add(spec->name, spec->type, spec->default_value, spec->help) = *spec;
  }
  apply_grpo_training_defaults(table);
  return table;
}

// ---- construction and prepare ---------------------------------------------------------------------------

GfpoTrainer::GfpoTrainer(const Args& args) : args_(args) {
  chat_template_kwargs_ = args.value("chat_template_kwargs");
  if (!chat_template_kwargs_.is_null() && !chat_template_kwargs_.is_object())
    args.fail("chat_template_kwargs", "expected an object of template arguments or null, got " +
                                          chat_template_kwargs_.dump());
}

GfpoTrainer::~GfpoTrainer() = default;

void GfpoTrainer::prepare(TrainerContext& ctx) {
  const RunConfig& run = ctx.run;
  const std::string& where = args_.where();
  if (run.train_dataset.empty()) throw ConfigError(run.path, "train_dataset", "`train_dataset` is required");
  const int64_t world = ctx.process_group != nullptr ? ctx.process_group->world_size() : 1;
  num_processes_ = world;

  // Rewards first: resolving the configuration checks reward_weights against their number.
  rewards_ = make_reward_set(ctx.components, run);
  BatchGeometry geometry;
  geometry.per_device_train_batch_size = ctx.args.per_device_train_batch_size;
  geometry.per_device_eval_batch_size = ctx.args.per_device_eval_batch_size;
  geometry.gradient_accumulation_steps = ctx.args.gradient_accumulation_steps;
  geometry.num_processes = world;
  geometry.evaluates = run.eval_dataset.has_value() && ctx.args.eval_strategy != "no";
  config_ = resolve_grpo_config(args_, geometry, rewards_.functions.size());
  for (const std::string& warning : config_.warnings) log::warn(where + ": " + warning);
  loss_config_ = GrpoLossConfig::from(config_);
  if (world > 1) check_data_parallel(config_, world, run.path);
  // The adaptive controller starts from entropy_coef and applies no bonus until a window has been measured.
  entropy_coef_ = config_.entropy_coef;
  last_world_entropy_ = kInf;
  window_entropy_sum_ = window_entropy_tokens_ = 0.0;

  // GFPO's constructor rules (spec §4.1): R without a filter is an error; a filter without R is ignored.
  const bool has_filter = !run.group_filter.is_null();
  if (config_.num_remains_in_group && !has_filter)
    throw ConfigError(run.path, "group_filter",
                      "args.num_remains_in_group is " + std::to_string(*config_.num_remains_in_group) +
                          " but no group filter is configured; name one (e.g. \"group_filter\": {\"name\": "
                          "\"length\"}) or remove num_remains_in_group");
  if (has_filter) {
    filter_ = ctx.components.make_group_filter(run.group_filter, run.path + ": group_filter");
    if (!config_.num_remains_in_group)
      log::warn(run.path + ": group_filter is set but args.num_remains_in_group is null: group filtering is "
                           "disabled and the run is plain GRPO (set num_remains_in_group to filter)");
  }

  // Prompts (spec §3.1): tokenized once, never truncated.
  train_prompts_ = tokenize_prompts(load_prompt_dataset(run.train_dataset), ctx.tokenizer, chat_template_kwargs_);
  if (run.eval_dataset)
    eval_prompts_ = tokenize_prompts(load_prompt_dataset(*run.eval_dataset), ctx.tokenizer, chat_template_kwargs_);
  sampler_ = std::make_unique<RepeatSampler>(static_cast<int64_t>(train_prompts_.size()), config_.num_generations,
                                             config_.generation_batch_size, config_.steps_per_generation,
                                             config_.num_iterations, config_.shuffle_dataset,
                                             static_cast<uint64_t>(ctx.args.seed));
  if (sampler_->generations_per_epoch() == 0)
    throw ConfigError(run.path, "train_dataset",
                      "has " + std::to_string(train_prompts_.size()) + " prompts, fewer than one generation batch "
                          "needs (generation_batch_size " + std::to_string(config_.generation_batch_size) +
                          " / num_generations " + std::to_string(config_.num_generations) + " = " +
                          std::to_string(sampler_->prompts_per_generation()) + ")");
  sampling_ = make_sampling_params(config_, ctx.tokenizer, ctx.model, where);

  // Old log-probs only when the policy can change between generation and use (spec §3.1).
  needs_old_logps_ = ctx.args.gradient_accumulation_steps % config_.generate_every() != 0;

  // The reference model only when the KL term is on (spec §3.1 "beta").
  if (config_.beta != 0.0) {
    // The SDK's reference: ref_model, or with a peft block the policy with its adapters off (TRL), else a
    // frozen copy of the initial policy.
    reference_ = ReferenceModel::from_context(ctx);
    // TRL's GRPOTrainer: NotImplementedError for TR-DPO with PEFT (the reference is the adapter-off policy).
    if (config_.sync_ref_model && reference_->separate_model() == nullptr)
      throw ConfigError(run.path, "args.sync_ref_model",
                        "TR-DPO (sync_ref_model) is not supported with a peft block, as in TRL: the reference is "
                        "the policy with its adapters off, so there is no separate model to synchronize; set it to "
                        "false");
  } else if (run.ref_model) {
    log::warn(run.path + ": ref_model is not loaded: beta is 0, so the loss has no KL term");
  }

  // Rank 0 alone writes the log (it receives every rank's rows).
  const bool is_main = ctx.process_group == nullptr || ctx.process_group->is_main();
  completions_log_ =
      CompletionsLog(ctx.args.output_dir.empty() || !is_main ? "" : ctx.args.output_dir + "/completions.jsonl");
  log::info("gfpo: " + std::to_string(train_prompts_.size()) + " training prompts" +
            (run.eval_dataset ? ", " + std::to_string(eval_prompts_.size()) + " eval prompts" : std::string()) +
            "; " + std::to_string(sampler_->prompts_per_generation()) + " prompts x " +
            std::to_string(config_.num_generations) + " completions per generation, every " +
            std::to_string(config_.generate_every()) + " micro-steps; " +
            (filtering() ? "keeping " + std::to_string(*config_.num_remains_in_group) + " per group"
                         : std::string("no group filtering (GRPO)")));
}

int64_t GfpoTrainer::micro_batches_per_epoch() const { return sampler_->micro_steps_per_epoch(); }

LossSettings GfpoTrainer::loss_settings(double num_items_in_batch, int64_t gradient_accumulation_steps,
                                        int64_t steps_per_generation) const {
  LossSettings s;
  s.loss = loss_config_;
  s.temperature = config_.temperature;
  s.num_items_in_batch = num_items_in_batch;
  s.gradient_accumulation_steps = gradient_accumulation_steps;
  s.num_processes = num_processes_;
  s.steps_per_generation = steps_per_generation;
  s.entropy_coef = applied_entropy_coef();
  return s;
}

double GfpoTrainer::applied_entropy_coef() const {
  // The coefficient and gate from the end of the previous optimizer step, so that every micro-step of a
  // window applies the same bonus (TRL 1.16).
  if (!config_.use_adaptive_entropy) return entropy_coef_;
  return last_world_entropy_ <= config_.entropy_target ? entropy_coef_ : 0.0;
}

void GfpoTrainer::entropy_window_step(TrainerContext& ctx, const GrpoLossOutput& out, bool window_end,
                                      Metrics& metrics) {
  if (!config_.entropy_bonus()) return;
  if (config_.use_adaptive_entropy && out.entropy_sum.defined()) {
    window_entropy_sum_ += out.entropy_sum.item<double>();
    window_entropy_tokens_ += out.entropy_tokens.item<double>();
  }
  if (!window_end) return;
  if (config_.use_adaptive_entropy) {
    // Skywork-OR1 adaptive control (TRL 1.16): the window's token-weighted entropy over every rank moves
    // the coefficient by entropy_coef_delta, up while it is at or below entropy_target, down otherwise.
    at::Tensor totals = at::tensor({window_entropy_sum_, window_entropy_tokens_}, at::kDouble);  // (2,)
    if (ctx.process_group != nullptr) ctx.process_group->all_reduce_sum(totals);
    const double world_entropy = totals[0].item<double>() / std::max(totals[1].item<double>(), 1.0);
    entropy_coef_ = world_entropy <= config_.entropy_target
                        ? std::min(entropy_coef_ + config_.entropy_coef_delta, config_.entropy_coef_max)
                        : std::max(entropy_coef_ - config_.entropy_coef_delta, config_.entropy_coef_min);
    last_world_entropy_ = world_entropy;
    window_entropy_sum_ = window_entropy_tokens_ = 0.0;
  }
  metrics.add("entropy_coef", entropy_coef_);
}

// ---- one generation batch ------------------------------------------------------------------------------

void GfpoTrainer::generate_and_buffer(TrainerContext& ctx, int64_t generation, Metrics& metrics) {
  const int64_t G = config_.num_generations;
  const int64_t step = ctx.state != nullptr ? ctx.state->global_step : 0;
  dist::ProcessGroup* const pg = ctx.process_group;
  const int64_t rank = pg != nullptr ? pg->rank() : 0;

  // 1. Sample G completions per prompt (all of them: the filter comes after scoring, spec §4.2), for this
  // rank's whole groups: its slice [lo, hi) of the generation batch. Each group is sampled with a seed of its
  // own, from (seed, generation, the group's place in the whole batch), so that the completions do not
  // depend on how many ranks share the batch (docs/distributed.md).
  const std::vector<int64_t> local_rows = sampler_->local_generation_rows(generation, rank, num_processes_);
  const int64_t n_local = static_cast<int64_t>(local_rows.size());
  const int64_t lo = rank * n_local;
  std::vector<uint64_t> group_seeds;
  for (int64_t k = 0; k < n_local / G; ++k)
    group_seeds.push_back(
        generation_seed(static_cast<uint64_t>(ctx.args.seed), GenerationStream::train, generation, lo / G + k));
  Rollout rollout =
      generate_group_rollouts(ctx.model, ctx.tokenizer, train_prompts_, local_rows, G, group_seeds, sampling_, step);
  set_progress(rollout.input, ctx.state);

  // 2. Score locally, gather the rewards (spec §3.2 "Gathering"), then filter (training only) and compute
  // the advantages on the whole batch, on every rank, exactly as one process does. A filter sees every
  // rank's groups (spec §4.3).
  const at::Tensor rewards_per_func = gather_rows(pg, score_rewards(rewards_, rollout.input));  // (N, F)
  RewardInput gathered_input;
  if (pg != nullptr && filtering()) gathered_input = gather_reward_input(pg, rollout.input);
  const RewardInput& batch_input = pg != nullptr && filtering() ? gathered_input : rollout.input;
  const ScoredRows scored =
      filtering() ? score_filtered(rewards_per_func, config_.reward_weights, rewards_.names, G, config_.scale_rewards,
                                   *filter_, *config_.num_remains_in_group, batch_input)
                  : score_unfiltered(rewards_per_func, config_.reward_weights, rewards_.names, G,
                                     config_.scale_rewards, config_.multi_objective_aggregation);

  // 3. Masks and token counts over the whole batch (every rank's lengths). dapo's N: the kept rows' masked
  // lengths when filtering (spec §4.4), else the raw total generated (taken before truncation masking, as TRL).
  std::vector<int64_t> lengths;
  std::vector<bool> truncated;
  {
    at::Tensor local = at::empty({n_local, 2}, at::kLong);  // (n_local, 2): length, truncated
    for (int64_t i = 0; i < n_local; ++i) {
      local[i][0] = static_cast<int64_t>(rollout.completion_ids[static_cast<size_t>(i)].size());
      local[i][1] = rollout.truncated[static_cast<size_t>(i)] ? 1 : 0;
    }
    const at::Tensor all = gather_rows(pg, local).contiguous();  // (N, 2)
    const int64_t* v = all.data_ptr<int64_t>();
    for (int64_t i = 0; i < all.size(0); ++i) {
      lengths.push_back(v[2 * i]);
      truncated.push_back(v[2 * i + 1] != 0);
    }
  }
  const std::vector<int64_t> batch_rows = pg != nullptr ? sampler_->generation_rows(generation) : local_rows;
  const size_t N = lengths.size();
  std::vector<bool> mask_out(N, false);
  double raw_tokens = 0.0, attended_tokens = 0.0;
  for (size_t i = 0; i < N; ++i) {
    mask_out[i] = config_.mask_truncated_completions && truncated[i];
    const double length = static_cast<double>(lengths[i]);
    raw_tokens += length;
    attended_tokens += static_cast<double>(train_prompts_[static_cast<size_t>(batch_rows[i])].ids.size()) +
                       (mask_out[i] ? 0.0 : length);
  }
  double num_items = raw_tokens;
  if (scored.filtered) {
    num_items = 0.0;
    for (int64_t r : scored.kept_rows)
      if (!mask_out[static_cast<size_t>(r)]) num_items += static_cast<double>(lengths[static_cast<size_t>(r)]);
  }
  num_tokens_ += attended_tokens;

  // 4. Generation metrics (on all N rows, spec §4.2) and scoring metrics (on the kept rows).
  add_all(metrics, completion_length_metrics(lengths, truncated));
  add_all(metrics, scored.metrics);
  metrics.set("num_tokens", num_tokens_);

  // This rank's kept rows (local indices) and their advantages, in the kept order: TRL's local slice.
  const std::vector<double> kept_advantages = to_doubles(scored.advantages.advantages);  // (K,)
  std::vector<int64_t> local_kept;
  std::vector<double> advantages;
  for (size_t j = 0; j < scored.kept_rows.size(); ++j) {
    const int64_t r = scored.kept_rows[j];
    if (r < lo || r >= lo + n_local) continue;
    local_kept.push_back(r - lo);
    advantages.push_back(kept_advantages[j]);
  }

  // 5. The buffer: kept rows shuffled (seeded by the generation) and cut into steps_per_generation parts.
  const int64_t K = static_cast<int64_t>(local_kept.size());
  buffer_ = GenerationBuffer{};
  buffer_.generation = generation;
  buffer_.num_items_in_batch = num_items;
  for (int64_t part = 0; part < config_.steps_per_generation; ++part) {
    const std::vector<int64_t> picks = sampler_->micro_batch_rows(generation * config_.generate_every() + part, K);
    std::vector<std::vector<int64_t>> prompts, completions;
    std::vector<bool> masked;
    std::vector<double> adv;
    for (int64_t j : picks) {
      const size_t row = static_cast<size_t>(local_kept[static_cast<size_t>(j)]);
      prompts.push_back(train_prompts_[static_cast<size_t>(rollout.prompt_rows[row])].ids);
      completions.push_back(rollout.completion_ids[row]);
      masked.push_back(mask_out[static_cast<size_t>(lo) + row]);
      adv.push_back(advantages[static_cast<size_t>(j)]);
    }
    MicroBatch batch = collate_rows(prompts, completions, masked, adv, sampling_.pad_token_id, ctx.device);
    if (batch.rows() > 0) {
      if (needs_old_logps_) batch.old_logps = completion_logps_no_grad(ctx.model, batch, config_.temperature);
      if (reference_)
        batch.ref_logps = reference_->run(
            [&](const CausalLM& ref) { return completion_logps_no_grad(ref, batch, config_.temperature); });
    } else {
      log::warn("gfpo: micro-batch " + std::to_string(part) + " of generation " + std::to_string(generation) +
                " is empty (" + std::to_string(K) + " kept rows over " +
                std::to_string(config_.steps_per_generation) + " steps_per_generation); its micro-step learns nothing");
    }
    buffer_.chunks.push_back(std::move(batch));
  }

  // 6. The completions log: every row, kept or not, with its rewards and advantage; rank 0 gets all ranks'.
  const std::vector<double> weighted = to_doubles(weighted_reward_sum(rewards_per_func, config_.reward_weights));
  const at::Tensor rpf = rewards_per_func.to(at::kCPU, at::kDouble).contiguous();  // (N, F)
  const double* reward = rpf.data_ptr<double>();
  const size_t F = rewards_.names.size();
  std::vector<nlohmann::json> advantage_of(N, nullptr);
  for (size_t j = 0; j < scored.kept_rows.size(); ++j)
    advantage_of[static_cast<size_t>(scored.kept_rows[j])] = kept_advantages[j];
  std::vector<nlohmann::json> rows;
  rows.reserve(static_cast<size_t>(n_local));
  for (size_t l = 0; l < static_cast<size_t>(n_local); ++l) {
    const size_t i = static_cast<size_t>(lo) + l;  // the row in the whole batch
    nlohmann::json per_function = nlohmann::json::object();
    bool any = false;
    for (size_t f = 0; f < F; ++f) {
      const double v = reward[i * F + f];
      per_function[rewards_.names[f]] = number_or_null(v);
      any = any || !std::isnan(v);
    }
    rows.push_back({{"generation", generation},
                    {"prompt", rollout.input.prompts[l]},
                    {"completion", rollout.input.completions[l]},
                    {"rewards", per_function},
                    {"reward", any ? number_or_null(weighted[i]) : nlohmann::json(nullptr)},
                    {"advantage", advantage_of[i]},
                    {"kept", !advantage_of[i].is_null()},
                    {"length", lengths[i]},
                    {"truncated", static_cast<bool>(truncated[i])}});
    if (config_.log_completion_ids) {
      // The replay log (docs/parity.md, case 4): what TRL's trainer must be handed to train on these rows.
      const int64_t dataset_row = rollout.prompt_rows[l];
      rows.back()["row"] = dataset_row;
      rows.back()["prompt_ids"] = train_prompts_[static_cast<size_t>(dataset_row)].ids;
      rows.back()["completion_ids"] = rollout.completion_ids[l];
    }
  }
  rows = gather_json_rows(pg, std::move(rows));
  if (config_.log_completions) {
    const size_t shown = std::min(N, static_cast<size_t>(config_.num_completions_to_print.value_or(static_cast<int64_t>(N))));
    for (size_t i = 0; i < shown; ++i) log::info("gfpo completion: " + rows[i].dump());
  }
  completions_log_.record(generation, std::move(rows));
}

// ---- training ------------------------------------------------------------------------------------------

at::Tensor GfpoTrainer::compute_loss(TrainerContext& ctx, int64_t micro_batch_index, Metrics& metrics) {
  const int64_t micro_step = micro_batch_index;
  const int64_t generation = sampler_->generation_index(micro_step);
  if (buffer_.generation != generation) {
    // Normally at a generation step; mid-window only when a resumed checkpoint carried no buffer.
    if (!sampler_->generates_at(micro_step))
      log::warn("gfpo: micro-step " + std::to_string(micro_step) + " needs generation " + std::to_string(generation) +
                ", which is not buffered; generating it now with the current weights");
    generate_and_buffer(ctx, generation, metrics);
  }
  const MicroBatch& batch =
      buffer_.chunks[static_cast<size_t>(sampler_->chunk_index(micro_step) % static_cast<int64_t>(buffer_.chunks.size()))];
  const GrpoLossOutput out =
      micro_batch_loss(ctx.model, batch, loss_settings(buffer_.num_items_in_batch, ctx.args.gradient_accumulation_steps,
                                                       config_.steps_per_generation));
  if (ctx.process_group != nullptr)
    add_all(metrics, gather_loss_metrics(*ctx.process_group, loss_config_, batch, out));
  else
    add_loss_metrics(metrics, out);
  // The loop calls micro-steps step * GA + 0 .. GA - 1: the last one ends the accumulation window.
  const int64_t ga = ctx.args.gradient_accumulation_steps;
  entropy_window_step(ctx, out, (micro_batch_index + 1) % ga == 0, metrics);
  return out.loss;
}

void GfpoTrainer::on_optimizer_step(TrainerContext& ctx, int64_t global_step) {
  // The loop logs at these steps (train/loop.cpp); TRL logs its completions table with every log.
  const bool logging = global_step % ctx.args.logging_steps == 0 || (ctx.args.logging_first_step && global_step == 1);
  if (logging) completions_log_.write_pending(global_step);
  // TR-DPO (TRL's SyncRefModelCallback.on_step_end): prepare() made sure the reference is a separate model.
  if (config_.sync_ref_model && global_step % config_.ref_model_sync_steps == 0)
    reference_->mix_in(ctx.model, config_.ref_model_mixup_alpha, ctx.run.path, "args.sync_ref_model");
}

// ---- evaluation ----------------------------------------------------------------------------------------

bool GfpoTrainer::has_eval_data() const { return !eval_prompts_.empty(); }

void GfpoTrainer::evaluate(TrainerContext& ctx, Metrics& metrics) {
  // Eval batches of per_device_eval_batch_size rows per rank: whole groups of num_generations_eval
  // completions, in dataset order, never filtered (spec §4.2), no buffering; GA is 1 and dapo's N is the
  // batch's own. Over several ranks a batch's prompts are shared out (rank_share), every prompt sampled
  // with its own seed, and the rewards, lengths and loss metrics gathered: the metrics are those of one
  // process running batches of world x per_device_eval_batch_size rows.
  dist::ProcessGroup* const pg = ctx.process_group;
  const int64_t rank = pg != nullptr ? pg->rank() : 0;
  const int64_t G = config_.eval_num_generations();
  const int64_t prompts_per_batch = std::max<int64_t>(1, ctx.args.per_device_eval_batch_size * num_processes_ / G);
  const int64_t step = ctx.state != nullptr ? ctx.state->global_step : 0;
  const int64_t n = static_cast<int64_t>(eval_prompts_.size());
  double loss_sum = 0.0, rows_seen = 0.0;
  for (int64_t start = 0; start < n; start += prompts_per_batch) {
    const int64_t count = std::min(n, start + prompts_per_batch) - start;
    const auto [first, last] = rank_share(start, count, rank, num_processes_);
    std::vector<int64_t> rows;
    std::vector<uint64_t> seeds;
    for (int64_t p = first; p < last; ++p) {
      rows.insert(rows.end(), static_cast<size_t>(G), p);
      seeds.push_back(generation_seed(static_cast<uint64_t>(ctx.args.seed), GenerationStream::eval, step, p));
    }
    Rollout rollout = generate_group_rollouts(ctx.model, ctx.tokenizer, eval_prompts_, rows, G, seeds, sampling_, step);
    set_progress(rollout.input, ctx.state);
    const int64_t F = static_cast<int64_t>(rewards_.functions.size());
    const at::Tensor local_rewards = rows.empty() ? at::zeros({0, F}, at::kDouble) : score_rewards(rewards_, rollout.input);
    const at::Tensor rewards_per_func = gather_rows(pg, local_rewards);  // (rows of the batch, F)
    const ScoredRows scored = score_unfiltered(rewards_per_func, config_.reward_weights, rewards_.names, G,
                                               config_.scale_rewards, config_.multi_objective_aggregation);
    const int64_t lo = (first - start) * G;  // this rank's first row in the batch

    // Lengths of the whole batch: completions/* and dapo's N (raw tokens, before truncation masking).
    std::vector<int64_t> lengths;
    std::vector<bool> truncated;
    {
      at::Tensor local = at::empty({static_cast<int64_t>(rows.size()), 2}, at::kLong);  // (rows, 2)
      for (size_t i = 0; i < rows.size(); ++i) {
        local[static_cast<int64_t>(i)][0] = static_cast<int64_t>(rollout.completion_ids[i].size());
        local[static_cast<int64_t>(i)][1] = rollout.truncated[i] ? 1 : 0;
      }
      const at::Tensor all = gather_rows(pg, local).contiguous();  // (batch rows, 2)
      const int64_t* v = all.data_ptr<int64_t>();
      for (int64_t i = 0; i < all.size(0); ++i) {
        lengths.push_back(v[2 * i]);
        truncated.push_back(v[2 * i + 1] != 0);
      }
    }
    double raw_tokens = 0.0;
    for (int64_t length : lengths) raw_tokens += static_cast<double>(length);

    std::vector<std::vector<int64_t>> prompts;
    std::vector<bool> masked;
    const std::vector<double> all_advantages = to_doubles(scored.advantages.advantages);
    std::vector<double> advantages;
    for (size_t i = 0; i < rows.size(); ++i) {
      prompts.push_back(eval_prompts_[static_cast<size_t>(rows[i])].ids);
      masked.push_back(config_.mask_truncated_completions && rollout.truncated[i]);
      advantages.push_back(all_advantages[static_cast<size_t>(lo) + i]);
    }
    MicroBatch batch = collate_rows(prompts, rollout.completion_ids, masked, advantages, sampling_.pad_token_id, ctx.device);
    if (reference_ && batch.rows() > 0)
      batch.ref_logps = reference_->run(
          [&](const CausalLM& ref) { return completion_logps_no_grad(ref, batch, config_.temperature); });
    // Evaluation neither splits nor accumulates its batch: GA and steps_per_generation are 1 (TRL).
    const GrpoLossOutput out = micro_batch_loss(ctx.model, batch, loss_settings(raw_tokens, 1, 1));

    // transformers' evaluation loop weighs each rank's loss by its rows (gathered per example).
    loss_sum += out.loss.item<double>() * static_cast<double>(rows.size());
    rows_seen += static_cast<double>(rows.size());
    add_all(metrics, completion_length_metrics(lengths, truncated));
    add_all(metrics, scored.metrics);
    if (pg != nullptr)
      add_all(metrics, gather_loss_metrics(*pg, loss_config_, batch, out));
    else
      add_loss_metrics(metrics, out);
  }
  if (pg != nullptr) {
    at::Tensor totals = at::tensor({loss_sum, rows_seen}, at::kDouble);  // (2,)
    pg->all_reduce_sum(totals);
    loss_sum = totals[0].item<double>();
    rows_seen = totals[1].item<double>();
  }
  // transformers' evaluation loop: the loss is the mean over examples.
  metrics.set("loss", rows_seen > 0 ? loss_sum / rows_seen : 0.0);
  metrics.set("num_tokens", num_tokens_);  // TRL reports the training total in eval too
}

CausalLM* GfpoTrainer::ref_model() { return reference_ != nullptr ? reference_->separate_model() : nullptr; }

// ---- checkpoints ---------------------------------------------------------------------------------------

void GfpoTrainer::save_state(TrainerContext& ctx, const std::string& checkpoint_dir) const {
  // Over several ranks each holds its own share of the buffer and rank 0 alone writes the checkpoint, so no
  // buffer is saved: a run resumed mid-window regenerates that batch (a warning says so). With
  // gradient_accumulation_steps a multiple of steps_per_generation x num_iterations (the default) every
  // checkpoint falls on a generation boundary and nothing is lost (docs/distributed.md).
  const int64_t saved_generation = num_processes_ > 1 ? -1 : buffer_.generation;
  // The adaptive entropy controller's state (TRL's entropy_ctrl_state.json); +inf is written as null.
  const nlohmann::json state = {{"num_tokens", num_tokens_},
                                {"buffer_generation", saved_generation},
                                {"completions_log", completions_log_.state()},
                                {"entropy_coef", entropy_coef_},
                                {"last_world_entropy", number_or_null(last_world_entropy_)}};
  std::ofstream out(checkpoint_dir + "/" + kStateFile);
  out << state.dump() << "\n";
  if (!out) throw CheckpointError(checkpoint_dir, std::string("cannot write ") + kStateFile);
  // The generation in use, so that a resumed run trains on exactly the same rows, old and reference
  // log-probs (regenerating with the newer weights would sample different completions).
  if (saved_generation >= 0) save_buffer(buffer_, checkpoint_dir + "/" + kBufferFile);
  // A reference that moved (TR-DPO) must come back as it was for an exact resume.
  if (config_.sync_ref_model) {
    reference_->separate_model()->save_pretrained(checkpoint_dir + "/" + kRefModelDir);
    ctx.tokenizer.save(checkpoint_dir + "/" + kRefModelDir);
  }
}

void GfpoTrainer::load_state(TrainerContext& ctx, const std::string& checkpoint_dir) {
  const std::string state_file = checkpoint_dir + "/" + kStateFile;
  std::ifstream in(state_file);
  if (!in) throw CheckpointError(checkpoint_dir, std::string("missing ") + kStateFile);
  nlohmann::json state;
  int64_t buffer_generation = -1;
  try {
    state = nlohmann::json::parse(in);
    num_tokens_ = state.at("num_tokens").get<double>();
    buffer_generation = state.at("buffer_generation").get<int64_t>();
    // Checkpoints written before the entropy controller existed lack these keys: start it afresh then.
    if (state.contains("entropy_coef")) entropy_coef_ = state.at("entropy_coef").get<double>();
    if (state.contains("last_world_entropy")) {
      const nlohmann::json& entropy = state.at("last_world_entropy");
      last_world_entropy_ = entropy.is_null() ? kInf : entropy.get<double>();
    }
  } catch (const nlohmann::json::exception& e) {
    throw CheckpointError(state_file, e.what());
  }
  buffer_ = GenerationBuffer{};
  if (buffer_generation >= 0) {
    const std::string buffer_file = checkpoint_dir + "/" + kBufferFile;
    if (!fs::exists(buffer_file)) throw CheckpointError(checkpoint_dir, std::string("missing ") + kBufferFile);
    buffer_ = load_buffer(buffer_file, ctx.device);
  }
  if (config_.sync_ref_model) {
    const std::string ref_dir = checkpoint_dir + "/" + kRefModelDir;
    if (!fs::is_directory(ref_dir)) throw CheckpointError(checkpoint_dir, "missing ref_model/ (sync_ref_model)");
    reference_->separate_model()->copy_weights_from(*CausalLM::from_pretrained(ref_dir, {ctx.device, ctx.dtype}));
  }
  const int64_t step = ctx.state != nullptr ? ctx.state->global_step : 0;
  completions_log_.resume(state.value("completions_log", nlohmann::json::object()), step, state_file);
  const nlohmann::json& spec = ctx.run.group_filter;
  const std::string filter_name = spec.is_string() ? spec.get<std::string>() : spec.is_object() ? spec.value("name", "") : "";
  if (filtering() && filter_name == "adaptive_difficulty")
    log::warn("gfpo: the adaptive_difficulty filter's history of group means is not checkpointed; it restarts "
              "empty, so this resumed run may keep different completions than an uninterrupted one");
}

}  // namespace trl::gfpo
