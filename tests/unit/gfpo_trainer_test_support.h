// Shared fixtures of the gfpo trainer's unit tests: a tiny random Qwen2 model with the byte tokenizer, a
// prompt dataset in a temporary folder, test reward functions and group filters handed out by a fake
// ComponentProvider, and a harness that builds the TrainerContext the SDK's loop would build.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "component_catalog.h"
#include "gfpo_trainer.h"
#include "trl/sdk/error.h"
#include "trl/sdk/model/causal_lm.h"
#include "trl/sdk/plugin.h"
#include "trl/sdk/tokenizer/tokenizer.h"
#include "trl/sdk/train/context.h"
#include "trl/sdk/train/loop.h"
#include "trl/sdk/train/metrics.h"
#include "trl/sdk/train/training_args.h"

namespace gfpo_test {

namespace fs = std::filesystem;

/// A one-layer Qwen2 with the byte tokenizer's 259 ids (rounded up to 320, as init-model does).
inline trl::ModelConfig tiny_config() {
  trl::ModelConfig c;
  c.architecture = "Qwen2ForCausalLM";
  c.model_type = "qwen2";
  c.vocab_size = 320;
  c.hidden_size = 16;
  c.intermediate_size = 32;
  c.num_hidden_layers = 1;
  c.num_attention_heads = 2;
  c.num_key_value_heads = 1;
  c.head_dim = 8;
  c.attention_bias = true;
  c.tie_word_embeddings = true;
  c.max_position_embeddings = 256;
  return c;
}

/// The byte tokenizer's EOS (and pad) id, <|endoftext|>.
constexpr int64_t kEos = 256;

/// Every reward input a reward saw, in call order.
struct RewardLog {
  std::vector<trl::RewardInput> calls;
};

/// A reward that scores with a function of (row input, index) and records each call.
class FunctionReward : public trl::RewardFunction {
 public:
  using Fn = std::function<std::optional<double>(const trl::RewardInput&, size_t)>;
  FunctionReward(Fn fn, std::shared_ptr<RewardLog> log) : fn_(std::move(fn)), log_(std::move(log)) {}
  std::vector<std::optional<double>> score(const trl::RewardInput& input) override {
    if (log_) log_->calls.push_back(input);
    std::vector<std::optional<double>> out;
    for (size_t i = 0; i < input.completions.size(); ++i) out.push_back(fn_(input, i));
    return out;
  }

 private:
  Fn fn_;
  std::shared_ptr<RewardLog> log_;
};

/// A reward in [0, 1) that differs between completions: (sum of ids mod 13) / 13.
inline std::optional<double> id_sum_reward(const trl::RewardInput& input, size_t i) {
  int64_t sum = 0;
  for (int64_t id : input.completion_ids[i]) sum += id;
  return static_cast<double>(sum % 13) / 13.0;
}

/// Every group a filter saw, in call order.
struct FilterLog {
  std::vector<trl::CompletionGroup> groups;
};

/// A group filter that records each group and scores with a function of the group.
class RecordingFilter : public trl::GroupFilter {
 public:
  using Fn = std::function<std::vector<double>(const trl::CompletionGroup&)>;
  RecordingFilter(Fn fn, std::shared_ptr<FilterLog> log) : fn_(std::move(fn)), log_(std::move(log)) {}
  std::vector<double> score(const trl::CompletionGroup& group) override {
    log_->groups.push_back(group);
    return fn_(group);
  }

 private:
  Fn fn_;
  std::shared_ptr<FilterLog> log_;
};

/// Score = -(first completion id): a keep order unrelated to length or reward.
inline std::vector<double> first_id_scores(const trl::CompletionGroup& group) {
  std::vector<double> s;
  for (const auto& ids : group.completion_ids) s.push_back(-static_cast<double>(ids.empty() ? 0 : ids.front()));
  return s;
}

/// Builds rewards and filters by name, as the host's catalog would (spec {"name": ...}).
class FakeProvider : public trl::ComponentProvider {
 public:
  std::map<std::string, std::function<std::unique_ptr<trl::RewardFunction>()>> rewards;
  std::map<std::string, std::function<std::unique_ptr<trl::GroupFilter>()>> filters;

  std::unique_ptr<trl::RewardFunction> make_reward(const nlohmann::json& spec, const std::string& where) override {
    const std::string name = spec.is_string() ? spec.get<std::string>() : spec.at("name").get<std::string>();
    if (!rewards.count(name)) throw trl::ConfigError(where, "name", "unknown reward '" + name + "'");
    return rewards.at(name)();
  }
  std::unique_ptr<trl::GroupFilter> make_group_filter(const nlohmann::json& spec, const std::string& where) override {
    const std::string name = spec.is_string() ? spec.get<std::string>() : spec.at("name").get<std::string>();
    if (!filters.count(name)) throw trl::ConfigError(where, "name", "unknown group filter '" + name + "'");
    return filters.at(name)();
  }
};

/// A private temporary folder, removed at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "trl-gfpo-trainer-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// Writes prompt rows {"prompt": "p<i>: ...", "answer": i} as JSONL and returns the path.
inline std::string write_prompts(const std::string& dir, const std::string& name, int count) {
  const std::string path = dir + "/" + name;
  std::ofstream out(path);
  for (int i = 0; i < count; ++i)
    out << nlohmann::json{{"prompt", "p" + std::to_string(i) + ": count to " + std::to_string(i % 5)}, {"answer", i}}
               .dump()
        << "\n";
  return path;
}

/// Everything a TrainerContext refers to, built the way the host's `train` command builds it.
struct Harness {
  TempDir dir;
  FakeProvider provider;
  trl::RunConfig run;
  trl::Args args;
  std::unique_ptr<trl::TrainingArguments> training_args;
  std::unique_ptr<trl::CausalLM> model;
  std::unique_ptr<trl::Tokenizer> tokenizer;
  trl::TrainerState state;
  std::unique_ptr<trl::TrainerContext> ctx;
  std::unique_ptr<trl::gfpo::GfpoTrainer> trainer;

  /// `args_json` over small defaults (G 4, 4 rows per micro-batch, 6 new tokens, output in the temp dir);
  /// `prompts` training prompts; reward_funcs / group_filter as in a run config.
  explicit Harness(const nlohmann::json::object_t& args_json, int prompts = 4, nlohmann::json reward_funcs = {"id_sum"},
                   nlohmann::json group_filter = nullptr, uint64_t model_seed = 7) {
    nlohmann::json defaults = {{"output_dir", dir.path() + "/out"},
                               {"num_generations", 4},
                               {"per_device_train_batch_size", 4},
                               {"max_completion_length", 6},
                               {"learning_rate", 1e-2},
                               {"logging_steps", 1},
                               {"save_steps", 0},
                               {"num_threads", 1},
                               {"seed", 3}};
    defaults.update(nlohmann::json(args_json));
    run.path = dir.path() + "/run.json";
    run.trainer = "gfpo";
    run.model = "(in memory)";
    run.train_dataset = write_prompts(dir.path(), "train.jsonl", prompts);
    run.reward_funcs = reward_funcs;
    run.group_filter = group_filter;
    const trl::ParamTable table =
        trl::host::merge_trainer_params(trl::training_arguments_params(), trl::gfpo::gfpo_trainer_params());
    args = table.validate(defaults, run.path + ": args");
    training_args = std::make_unique<trl::TrainingArguments>(trl::TrainingArguments::from_args(args));
    model = trl::CausalLM::from_config(tiny_config(), model_seed);
    model->set_requires_grad(true);
    tokenizer = trl::Tokenizer::byte_level();
    provider.rewards["id_sum"] = [] { return std::make_unique<FunctionReward>(id_sum_reward, nullptr); };
  }

  /// Adds an eval dataset of `count` prompts.
  void with_eval(int count) { run.eval_dataset = write_prompts(dir.path(), "eval.jsonl", count); }

  /// Builds the context and the trainer and runs prepare(), as the loop does first.
  trl::gfpo::GfpoTrainer& prepare() {
    ctx = std::make_unique<trl::TrainerContext>(trl::TrainerContext{run, *training_args, args, *model, *tokenizer,
                                                                    provider, c10::Device(c10::kCPU), c10::kFloat});
    ctx->state = &state;
    trainer = std::make_unique<trl::gfpo::GfpoTrainer>(args);
    trainer->prepare(*ctx);
    return *trainer;
  }

  /// The loss of one micro-step, as the loop calls it.
  at::Tensor loss_at(int64_t micro_step, trl::Metrics& metrics) { return trainer->compute_loss(*ctx, micro_step, metrics); }
};

/// Copies of every weight, to compare before and after training.
inline std::vector<at::Tensor> snapshot(const trl::CausalLM& model) {
  std::vector<at::Tensor> out;
  for (const at::Tensor& p : model.parameters()) out.push_back(p.detach().clone());
  return out;
}

/// The gradients of every weight (zeros where none), cloned.
inline std::vector<at::Tensor> gradients(const trl::CausalLM& model) {
  std::vector<at::Tensor> out;
  for (const at::Tensor& p : model.parameters())
    out.push_back(p.grad().defined() ? p.grad().detach().clone() : at::zeros_like(p));
  return out;
}

/// Clears every gradient.
inline void zero_gradients(const trl::CausalLM& model) {
  for (const at::Tensor& p : model.parameters()) p.mutable_grad().reset();
}

/// The message of the ConfigError `f` throws ("" when it throws none).
template <class F>
std::string config_error_of(F&& f) {
  try {
    f();
  } catch (const trl::ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace gfpo_test
