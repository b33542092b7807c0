// The SDK's training loop with a toy trainer on a tiny real model: logging, resume exactness, atomic
// checkpoints, NaN detection, stop signals, checkpoint pruning.
#include <csignal>
#include <filesystem>
#include <fstream>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include "trl/sdk/error.h"
#include "trl/sdk/model/causal_lm.h"
#include "trl/sdk/plugin.h"
#include "trl/sdk/tokenizer/tokenizer.h"
#include "trl/sdk/train/context.h"
#include "trl/sdk/train/loop.h"
#include "trl/sdk/train/metrics.h"
#include "trl/sdk/train/training_args.h"

namespace {
namespace fs = std::filesystem;

trl::ModelConfig tiny_config() {
  trl::ModelConfig c;
  c.architecture = "Qwen2ForCausalLM";
  c.model_type = "qwen2";
  c.vocab_size = 64;
  c.hidden_size = 16;
  c.intermediate_size = 32;
  c.num_hidden_layers = 1;
  c.num_attention_heads = 2;
  c.num_key_value_heads = 1;
  c.head_dim = 8;
  c.attention_bias = true;
  c.tie_word_embeddings = true;
  c.max_position_embeddings = 64;
  return c;
}

// Loss: mean squared final hidden state of a batch of ids chosen by the micro-batch index, so the data a
// step sees depends only on the index (as a real trainer's sampler). `nan_at` makes one micro-batch NaN.
class ToyTrainer : public trl::Trainer {
 public:
  explicit ToyTrainer(int64_t nan_at = -1, bool fail_save = false) : nan_at_(nan_at), fail_save_(fail_save) {}
  void prepare(trl::TrainerContext&) override { prepared_ = true; }
  int64_t micro_batches_per_epoch() const override { return 4; }
  at::Tensor compute_loss(trl::TrainerContext& ctx, int64_t index, trl::Metrics& metrics) override {
    at::Tensor ids = at::arange(8, at::kLong).add(index * 3).remainder(64).reshape({2, 4});
    at::Tensor loss = ctx.model.hidden_states(ids).pow(2).mean();
    if (index == nan_at_) loss = loss * std::numeric_limits<double>::quiet_NaN();
    metrics.add("toy/index", static_cast<double>(index));
    return loss / static_cast<double>(ctx.args.gradient_accumulation_steps);
  }
  void save_state(trl::TrainerContext&, const std::string& dir) const override {
    if (fail_save_) throw trl::CheckpointError(dir, "disk full (test)");
  }
  bool prepared_ = false;

 private:
  int64_t nan_at_;
  bool fail_save_;
};

// Stops (or raises a signal) at a given step, like a user callback would.
class StopAt : public trl::Callback {
 public:
  StopAt(int64_t step, int signal) : step_(step), signal_(signal) {}
  void on_step_end(trl::CallbackArgs& args) override {
    if (args.state.global_step != step_) return;
    if (signal_ != 0)
      std::raise(signal_);
    else
      args.control.should_training_stop = true;
  }

 private:
  int64_t step_;
  int signal_;
};

class NoComponents : public trl::ComponentProvider {
 public:
  std::unique_ptr<trl::RewardFunction> make_reward(const nlohmann::json&, const std::string&) override { return {}; }
  std::unique_ptr<trl::GroupFilter> make_group_filter(const nlohmann::json&, const std::string&) override {
    return {};
  }
};

class TrainLoop : public ::testing::Test {
 protected:
  void SetUp() override {
    at::set_num_threads(1);
    dir_ = fs::temp_directory_path() /
           ("trl_loop_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    tokenizer_ = trl::Tokenizer::byte_level();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs the loop from a fresh seeded model with the given extra args; returns the result.
  trl::TrainResult run(ToyTrainer& trainer, nlohmann::json extra, std::vector<trl::Callback*> callbacks = {}) {
    nlohmann::json config = {{"output_dir", dir_.string()}, {"max_steps", 6},      {"logging_steps", 1},
                             {"save_steps", 3},             {"learning_rate", 1e-2}, {"warmup_steps", 2},
                             {"gradient_accumulation_steps", 2}};
    for (auto it = extra.begin(); it != extra.end(); ++it) config[it.key()] = it.value();
    args_ = trl::training_arguments_params().validate(config, "test");
    targs_ = trl::TrainingArguments::from_args(args_);
    model_ = trl::CausalLM::from_config(tiny_config(), 7);
    model_->set_requires_grad(true);
    run_.path = "test";
    ctx_ = std::make_unique<trl::TrainerContext>(trl::TrainerContext{
        run_, targs_, args_, *model_, *tokenizer_, components_, c10::Device(c10::kCPU), c10::kFloat});
    trl::TrainingLoop loop(*ctx_, trainer, callbacks);
    return loop.run();
  }

  std::vector<nlohmann::json> metrics_lines() const {
    std::vector<nlohmann::json> out;
    std::ifstream in(dir_ / "metrics.jsonl");
    std::string line;
    while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
    return out;
  }

  fs::path dir_;
  std::unique_ptr<trl::Tokenizer> tokenizer_;
  std::unique_ptr<trl::CausalLM> model_;
  trl::RunConfig run_;
  trl::Args args_;
  trl::TrainingArguments targs_;
  NoComponents components_;
  std::unique_ptr<trl::TrainerContext> ctx_;
};

TEST_F(TrainLoop, LogsEveryStepWithTransformersNames) {
  ToyTrainer trainer;
  trl::TrainResult result = run(trainer, {});
  EXPECT_TRUE(trainer.prepared_);
  EXPECT_EQ(result.global_step, 6);
  std::vector<nlohmann::json> lines = metrics_lines();
  ASSERT_EQ(lines.size(), 7u);  // six steps and the train summary
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(lines[i]["step"], i + 1);
    for (const char* key : {"loss", "grad_norm", "learning_rate", "epoch", "toy/index"})
      EXPECT_TRUE(lines[i].contains(key)) << key << " missing in " << lines[i];
    // Two micro-batches per step: the metric averages their indices 2s and 2s+1.
    EXPECT_DOUBLE_EQ(lines[i]["toy/index"].get<double>(), 2.0 * i + 0.5);
  }
  // warmup 2 then linear decay over 4: the logged rate is the one the step used (transformers 5 reads it
  // before lr_scheduler.step(); 4.x logged the next step's).
  EXPECT_DOUBLE_EQ(lines[0]["learning_rate"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(lines[1]["learning_rate"].get<double>(), 1e-2 * 1 / 2);
  EXPECT_DOUBLE_EQ(lines[2]["learning_rate"].get<double>(), 1e-2);
  EXPECT_DOUBLE_EQ(lines[3]["learning_rate"].get<double>(), 1e-2 * 3 / 4);
  EXPECT_DOUBLE_EQ(lines[5]["learning_rate"].get<double>(), 1e-2 * 1 / 4);
  // Two steps per epoch (4 micro-batches, accumulation 2).
  EXPECT_DOUBLE_EQ(lines[5]["epoch"].get<double>(), 3.0);
  EXPECT_TRUE(lines[6].contains("train_loss"));
  EXPECT_TRUE(fs::exists(dir_ / "model.safetensors"));
  EXPECT_TRUE(fs::exists(dir_ / "train.log"));
  EXPECT_TRUE(fs::exists(dir_ / "checkpoint-3" / "optimizer.safetensors"));
  EXPECT_TRUE(fs::exists(dir_ / "checkpoint-6" / "trainer_state.json"));
}

TEST_F(TrainLoop, ResumeReproducesTheUninterruptedLosses) {
  ToyTrainer uninterrupted;
  run(uninterrupted, {});
  std::vector<nlohmann::json> full = metrics_lines();

  fs::remove_all(dir_);
  ToyTrainer first;
  StopAt stop(3, 0);
  run(first, {}, {&stop});
  ASSERT_TRUE(fs::exists(dir_ / "checkpoint-3"));
  ToyTrainer resumed;
  trl::TrainResult result = run(resumed, {{"resume_from_checkpoint", "last"}});
  EXPECT_EQ(result.global_step, 6);
  std::vector<nlohmann::json> lines = metrics_lines();
  ASSERT_GE(lines.size(), 6u);
  for (int i = 0; i < 6; ++i) {
    // Bit-for-bit: same data, same optimizer moments, same weights at a fixed thread count.
    EXPECT_EQ(lines[i]["loss"].get<double>(), full[i]["loss"].get<double>()) << "step " << i + 1;
    EXPECT_EQ(lines[i]["grad_norm"].get<double>(), full[i]["grad_norm"].get<double>()) << "step " << i + 1;
  }
}

TEST_F(TrainLoop, CheckpointIsCompleteOrAbsent) {
  ToyTrainer trainer(/*nan_at=*/-1, /*fail_save=*/true);
  EXPECT_THROW(run(trainer, {}), trl::CheckpointError);
  EXPECT_FALSE(fs::exists(dir_ / "checkpoint-3"));
  for (const auto& entry : fs::directory_iterator(dir_))
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
}

TEST_F(TrainLoop, NonFiniteLossStopsNamingTheStep) {
  ToyTrainer trainer(/*nan_at=*/3);  // micro-batch 3 = second micro-batch of step 2
  try {
    run(trainer, {});
    FAIL() << "expected NonFiniteError";
  } catch (const trl::NonFiniteError& e) {
    EXPECT_EQ(std::string(e.what()), "step 2: the loss is nan");
  }
}

TEST_F(TrainLoop, SigintSavesACheckpointAndReturnsTheSignal) {
  ToyTrainer trainer;
  StopAt interrupt(2, SIGINT);
  trl::TrainResult result = run(trainer, {{"save_steps", 0}}, {&interrupt});
  EXPECT_EQ(result.signal, SIGINT);
  EXPECT_EQ(result.global_step, 2);
  EXPECT_TRUE(fs::exists(dir_ / "checkpoint-2" / "model.safetensors"));
  EXPECT_FALSE(fs::exists(dir_ / "model.safetensors"));  // no final model for an interrupted run
}

TEST_F(TrainLoop, SaveTotalLimitPrunesOldest) {
  ToyTrainer trainer;
  run(trainer, {{"save_steps", 1}, {"save_total_limit", 2}});
  EXPECT_FALSE(fs::exists(dir_ / "checkpoint-4"));
  EXPECT_TRUE(fs::exists(dir_ / "checkpoint-5"));
  EXPECT_TRUE(fs::exists(dir_ / "checkpoint-6"));
}

TEST_F(TrainLoop, ParametersMoveAndFinalModelReloads) {
  ToyTrainer trainer;
  run(trainer, {});
  std::unique_ptr<trl::CausalLM> initial = trl::CausalLM::from_config(tiny_config(), 7);
  std::unique_ptr<trl::CausalLM> saved = trl::CausalLM::from_pretrained(dir_.string());
  const auto& a = initial->named_parameters();
  const auto& b = saved->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  bool any_changed = false;
  for (size_t i = 0; i < a.size(); ++i) any_changed |= !at::equal(a[i].second, b[i].second);
  EXPECT_TRUE(any_changed);
  for (size_t i = 0; i < b.size(); ++i) EXPECT_TRUE(at::equal(b[i].second, model_->named_parameters()[i].second));
}

}  // namespace
