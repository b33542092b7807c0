// The trainer project `plugins new --kind trainer` writes (plugins_new_templates.h): a supervised
// fine-tuning trainer, a run config and a few rows of data, so the project trains as soon as it builds.
#include "plugins_new_templates.h"

namespace trl::host::new_plugin_text {

std::string trainer_source() {
  return R"cpp(// @NAME@: a trl-host plugin with one trainer, `@NAME@` (written by `trl-host plugins new`): supervised
// fine-tuning with the next-token loss on {prompt, completion} rows.
//
// The SDK's TrainingLoop owns the optimizer, learning-rate schedule, gradient accumulation, clipping,
// logging, evaluation cadence, checkpoints, resume and callbacks; a trainer supplies the data and the
// loss. Here each row becomes prompt tokens + completion tokens + EOS, and the loss is the mean negative
// log-likelihood of the completion tokens (of every token with completion_only_loss = false), computed
// by trl::token_stats at the trained positions only, never as a (B, T, V) log-softmax.
// Letters: B rows in a micro-batch, T tokens of its longest row.
#include <algorithm>
#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>
#include <trl/sdk/data/dataset.h>
#include <trl/sdk/data/sampler.h>
#include <trl/sdk/dist/process_group.h>
#include <trl/sdk/error.h>
#include <trl/sdk/log.h>
#include <trl/sdk/model/causal_lm.h>
#include <trl/sdk/model/token_stats.h>
#include <trl/sdk/params.h>
#include <trl/sdk/plugin.h>
#include <trl/sdk/tokenizer/tokenizer.h>
#include <trl/sdk/train/context.h>
#include <trl/sdk/train/metrics.h>
#include <trl/sdk/train/training_args.h>

namespace {

/// The trainer's own parameters; the host adds TrainingArguments (output_dir, learning_rate, max_steps,
/// per_device_train_batch_size, ...) and validates the run config's whole "args" block against both.
trl::ParamTable params() {
  trl::ParamTable t;
  t.add("max_length", trl::ParamType::integer, 1024,
        "tokens per row (prompt + completion + EOS), cut at the end; null = no limit")
      .greater_than(0)
      .allow_null();
  t.add("completion_only_loss", trl::ParamType::boolean, true,
        "train on the completion tokens only (false: on the prompt tokens too)");
  return t;
}

/// One tokenized row.
struct Example {
  std::vector<int64_t> ids;   ///< prompt + completion + EOS, cut to max_length
  std::vector<bool> trained;  ///< per id: whether the model learns to predict it
};

/// A right-padded micro-batch, on the CPU.
struct Batch {
  at::Tensor input_ids;       ///< (B, T) int64
  at::Tensor attention_mask;  ///< (B, T) int64, 1 = real token
  at::Tensor labels;          ///< (B, T) int64: the token to predict at each position, or -100
};

/// The loss of one micro-batch and what is logged with it.
struct BatchLoss {
  at::Tensor loss;              ///< 0-dim: mean NLL over the trained tokens, with grad
  at::Tensor accuracy;          ///< 0-dim: share of trained tokens whose argmax is the label
  at::Tensor entropy;           ///< 0-dim: mean predictive entropy at the trained tokens
  double trained_tokens = 0.0;  ///< how many tokens were trained on
  double real_tokens = 0.0;     ///< non-padding tokens (TRL's num_tokens)
};

std::string text_column(const trl::JsonRow& row, const char* key, const std::string& path) {
  const auto it = row.value.find(key);
  if (it == row.value.end() || !it->is_string())
    throw trl::DataError(path, row.line,
                         std::string("expected a string column \"") + key + "\", got " +
                             (it == row.value.end() ? std::string("none") : std::string(it->type_name())));
  return it->get<std::string>();
}

class SftTrainer : public trl::Trainer {
 public:
  explicit SftTrainer(const trl::Args& args)
      : max_length_(args.optional_integer("max_length")), completion_only_loss_(args.boolean("completion_only_loss")) {}

  void prepare(trl::TrainerContext& ctx) override {
    if (ctx.run.train_dataset.empty())
      throw trl::ConfigError(ctx.run.path, "train_dataset", "expected a {prompt, completion} dataset");
    pad_id_ = ctx.tokenizer.pad_token_id().value_or(0);
    train_ = load(ctx, ctx.run.train_dataset);
    if (ctx.run.eval_dataset) eval_ = load(ctx, *ctx.run.eval_dataset);
    // The SDK's sampler: seeded per epoch, and batch k is a pure function of k, so a resumed run sees the
    // same data as an uninterrupted one.
    sampler_ = std::make_unique<trl::EpochSampler>(static_cast<int64_t>(train_.size()),
                                                   ctx.args.per_device_train_batch_size,
                                                   static_cast<uint64_t>(ctx.args.effective_data_seed()),
                                                   /*shuffle=*/true, ctx.args.dataloader_drop_last);
    // Under `trl-host launch` each rank trains on its own share of every batch; the loop averages the
    // gradients (metrics stay per rank: rank 0 logs its own).
    if (ctx.process_group != nullptr)
      sampler_ = std::make_unique<trl::EpochSampler>(
          sampler_->sharded(ctx.process_group->rank(), ctx.process_group->world_size()));
    trl::log::info("@NAME@: " + std::to_string(train_.size()) + " training rows" +
                   (eval_.empty() ? std::string() : ", " + std::to_string(eval_.size()) + " eval rows"));
  }

  int64_t micro_batches_per_epoch() const override { return sampler_->batches_per_epoch(); }

  at::Tensor compute_loss(trl::TrainerContext& ctx, int64_t micro_batch_index, trl::Metrics& metrics) override {
    std::vector<const Example*> rows;
    for (int64_t i : sampler_->batch(micro_batch_index)) rows.push_back(&train_[static_cast<size_t>(i)]);
    const BatchLoss out = batch_loss(ctx, rows);
    num_tokens_ += out.real_tokens;
    metrics.add("mean_token_accuracy", out.accuracy);  // tensors are read at log time: no device wait here
    metrics.add("entropy", out.entropy);
    metrics.set("num_tokens", num_tokens_);
    // The loop backpropagates each micro-batch's loss as returned and sums them per optimizer step.
    return out.loss / static_cast<double>(ctx.args.gradient_accumulation_steps);
  }

  bool has_eval_data() const override { return !eval_.empty(); }

  void evaluate(trl::TrainerContext& ctx, trl::Metrics& metrics) override {
    // Token-weighted over the whole eval set; the loop runs this under NoGradGuard and adds "eval_".
    const size_t batch_size = static_cast<size_t>(ctx.args.per_device_eval_batch_size);
    double nll = 0.0, hits = 0.0, tokens = 0.0;
    for (size_t start = 0; start < eval_.size(); start += batch_size) {
      std::vector<const Example*> rows;
      for (size_t i = start; i < std::min(eval_.size(), start + batch_size); ++i) rows.push_back(&eval_[i]);
      const BatchLoss out = batch_loss(ctx, rows);
      nll += out.loss.item<double>() * out.trained_tokens;
      hits += out.accuracy.item<double>() * out.trained_tokens;
      tokens += out.trained_tokens;
    }
    metrics.set("loss", nll / tokens);
    metrics.set("mean_token_accuracy", hits / tokens);
  }

  // num_tokens is a running total: checkpoint it so a resumed run continues the count.
  void save_state(trl::TrainerContext&, const std::string& checkpoint_dir) const override {
    std::ofstream(checkpoint_dir + "/@NAME@_state.json") << nlohmann::json{{"num_tokens", num_tokens_}}.dump() << "\n";
  }

  void load_state(trl::TrainerContext&, const std::string& checkpoint_dir) override {
    const std::string file = checkpoint_dir + "/@NAME@_state.json";
    std::ifstream in(file);
    if (!in) throw trl::CheckpointError(checkpoint_dir, "missing @NAME@_state.json");
    try {
      num_tokens_ = nlohmann::json::parse(in).at("num_tokens").get<double>();
    } catch (const nlohmann::json::exception& e) {
      throw trl::CheckpointError(file, e.what());
    }
  }

 private:
  // Tokenizes every row; rows left with nothing to train on (a prompt longer than max_length) are dropped.
  std::vector<Example> load(const trl::TrainerContext& ctx, const std::string& path) const {
    const std::optional<int64_t> eos = ctx.tokenizer.eos_token_id();
    std::vector<Example> out;
    size_t dropped = 0;
    for (const trl::JsonRow& row : trl::read_json_rows(path)) {
      Example ex;
      ex.ids = ctx.tokenizer.encode(text_column(row, "prompt", path), /*add_special_tokens=*/true);
      ex.trained.assign(ex.ids.size(), !completion_only_loss_);
      std::vector<int64_t> completion = ctx.tokenizer.encode(text_column(row, "completion", path), false);
      if (eos) completion.push_back(*eos);
      ex.ids.insert(ex.ids.end(), completion.begin(), completion.end());
      ex.trained.insert(ex.trained.end(), completion.size(), true);
      if (max_length_ && static_cast<int64_t>(ex.ids.size()) > *max_length_) {
        ex.ids.resize(static_cast<size_t>(*max_length_));
        ex.trained.resize(static_cast<size_t>(*max_length_));
      }
      // Position 0 is never predicted (nothing precedes it).
      if (ex.ids.size() < 2 || std::find(ex.trained.begin() + 1, ex.trained.end(), true) == ex.trained.end()) {
        ++dropped;
        continue;
      }
      out.push_back(std::move(ex));
    }
    if (dropped > 0) trl::log::warn("@NAME@: " + path + ": dropped " + std::to_string(dropped) +
                                    " rows with no completion token left within max_length");
    if (out.empty()) throw trl::DataError(path, 0, "no row has a completion token within max_length");
    return out;
  }

  Batch collate(const std::vector<const Example*>& rows) const {
    const int64_t B = static_cast<int64_t>(rows.size());
    int64_t T = 0;
    for (const Example* r : rows) T = std::max(T, static_cast<int64_t>(r->ids.size()));
    std::vector<int64_t> ids(static_cast<size_t>(B * T), pad_id_), mask(ids.size(), 0),
        labels(ids.size(), trl::kIgnoreIndex);
    for (int64_t b = 0; b < B; ++b) {
      const Example& r = *rows[static_cast<size_t>(b)];
      const int64_t n = static_cast<int64_t>(r.ids.size());
      for (int64_t t = 0; t < n; ++t) {
        const size_t k = static_cast<size_t>(b * T + t);
        ids[k] = r.ids[static_cast<size_t>(t)];
        mask[k] = 1;
        // token_stats takes labels already shifted: position t predicts token t + 1.
        if (t + 1 < n && r.trained[static_cast<size_t>(t + 1)]) labels[k] = r.ids[static_cast<size_t>(t + 1)];
      }
    }
    auto tensor = [B, T](std::vector<int64_t>& v) { return at::from_blob(v.data(), {B, T}, at::kLong).clone(); };
    return {tensor(ids), tensor(mask), tensor(labels)};
  }

  BatchLoss batch_loss(trl::TrainerContext& ctx, const std::vector<const Example*>& rows) const {
    const Batch batch = collate(rows);
    // Device moves in one place; everything after runs where the model is.
    const at::Tensor input_ids = batch.input_ids.to(ctx.device);
    const at::Tensor attention_mask = batch.attention_mask.to(ctx.device);
    const at::Tensor labels = batch.labels.to(ctx.device);
    const at::Tensor hidden = ctx.model.hidden_states(input_ids, attention_mask);  // (B, T, H)
    trl::TokenStatsOptions options;
    options.entropy = true;
    options.argmax_hit = true;
    const trl::TokenStats stats = trl::token_stats(ctx.model, hidden, labels, options);  // each (B, T), 0 at -100
    BatchLoss out;
    out.trained_tokens = batch.labels.ne(trl::kIgnoreIndex).sum().item<double>();  // CPU tensors: no device wait
    out.real_tokens = batch.attention_mask.sum().item<double>();
    out.loss = -stats.logps.sum() / out.trained_tokens;
    out.accuracy = stats.argmax_hit.sum().to(at::kDouble) / out.trained_tokens;
    out.entropy = stats.entropy.sum() / out.trained_tokens;
    return out;
  }

  std::optional<int64_t> max_length_;
  bool completion_only_loss_ = true;
  int64_t pad_id_ = 0;
  std::vector<Example> train_;
  std::vector<Example> eval_;
  std::unique_ptr<trl::EpochSampler> sampler_;
  double num_tokens_ = 0.0;  ///< non-padding tokens trained on so far (TRL's num_tokens)
};

}  // namespace

// Experimental until you write TRL_PLUGIN_STABLE (same arguments). The version comes from the build.
TRL_PLUGIN("@NAME@", "Apache-2.0", "@NAME@: supervised fine-tuning on {prompt, completion} rows", TRL_TRAINER("@NAME@"));

void trl_plugin_register(trl::Registry& registry) {
  registry.add_trainer(
      "@NAME@", params(), [](const trl::Args& args) { return std::make_unique<SftTrainer>(args); },
      "supervised fine-tuning: next-token loss on the completion of {prompt, completion} rows");
}
)cpp";
}

std::string trainer_run_config() {
  return R"json({
  "trainer": "@NAME@",
  "model": "model",
  "train_dataset": "data.jsonl",
  "args": {
    "output_dir": "runs/@NAME@",
    "max_steps": 20,
    "per_device_train_batch_size": 4,
    "learning_rate": 0.001,
    "logging_steps": 5,
    "save_steps": 0,
    "max_length": 128,
    "seed": 0
  }
}
)json";
}

std::string trainer_data() {
  return R"jsonl({"prompt": "The capital of France is", "completion": " Paris."}
{"prompt": "Two plus two is", "completion": " four."}
{"prompt": "The opposite of hot is", "completion": " cold."}
{"prompt": "Water freezes at zero degrees", "completion": " Celsius."}
{"prompt": "The first letter of the alphabet is", "completion": " A."}
{"prompt": "A week has", "completion": " seven days."}
{"prompt": "The colour of the sky on a clear day is", "completion": " blue."}
{"prompt": "Cats say", "completion": " meow."}
)jsonl";
}

}  // namespace trl::host::new_plugin_text
