// LoRA adapters (trl/sdk/model/lora.h): the "peft" block, the adapted forward against an independent PEFT
// reference (tests/golden/make_lora_golden.py), switching adapters off, merging, PEFT's file layout, the
// SDK's adapter-off reference model, and training through the loop (frozen base, resume).
#include <filesystem>
#include <fstream>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include "model_test_support.h"
#include "trl/sdk/error.h"
#include "trl/sdk/model/causal_lm.h"
#include "trl/sdk/model/lora.h"
#include "trl/sdk/model/safetensors.h"
#include "trl/sdk/plugin.h"
#include "trl/sdk/tokenizer/tokenizer.h"
#include "trl/sdk/train/context.h"
#include "trl/sdk/train/loop.h"
#include "trl/sdk/train/metrics.h"
#include "trl/sdk/train/reference_model.h"
#include "trl/sdk/train/training_args.h"

namespace {
namespace fs = std::filesystem;
using trl::testing_support::json_tensor;
using trl::testing_support::ScratchDir;
using trl::testing_support::tiny_model_config;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const trl::ConfigError& e) {
    return e.what();
  }
  return "(no ConfigError)";
}

// Final hidden states of fixed ids (B 2, T 5) with no gradient.
at::Tensor hidden_of(const trl::CausalLM& model) {
  at::NoGradGuard no_grad;
  const at::Tensor ids = at::arange(10, at::kLong).remainder(64).reshape({2, 5});
  return model.hidden_states(ids);
}

// Gives every B a nonzero value so the adapters change the output (fresh B is zero).
void perturb_adapters(const trl::CausalLM& model, uint64_t seed) {
  at::NoGradGuard no_grad;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (const auto& [name, t] : trl::lora_named_parameters(model))
    if (name.find("lora_B") != std::string::npos) t.copy_(at::empty(t.sizes(), t.options()).normal_(0.0, 0.2, gen));
}

// ---- the "peft" block --------------------------------------------------------------------------------

TEST(LoraConfig, DefaultsArePefts) {
  const trl::LoraConfig c = trl::lora_config_from_json(nlohmann::json::object(), "run.json: peft");
  EXPECT_EQ(c.r, 8);
  EXPECT_EQ(c.lora_alpha, 8.0);
  EXPECT_EQ(c.lora_dropout, 0.0);
  EXPECT_EQ(c.target_modules, (std::vector<std::string>{"q_proj", "v_proj"}));  // PEFT's llama/qwen2 default
  EXPECT_EQ(c.bias, "none");
  EXPECT_FALSE(c.use_rslora);
  EXPECT_EQ(c.init_lora_weights, nlohmann::json(true));
  EXPECT_DOUBLE_EQ(c.scaling(), 1.0);
}

TEST(LoraConfig, AllLinearAndRsloraScaling) {
  const trl::LoraConfig c = trl::lora_config_from_json(
      {{"r", 16}, {"lora_alpha", 8}, {"target_modules", "all-linear"}, {"use_rslora", true}}, "peft");
  EXPECT_EQ(c.target_modules, (std::vector<std::string>{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                                                        "up_proj", "down_proj"}));
  EXPECT_DOUBLE_EQ(c.scaling(), 2.0);  // 8 / sqrt(16)
  EXPECT_DOUBLE_EQ(trl::lora_config_from_json({{"r", 16}, {"lora_alpha", 32}}, "peft").scaling(), 2.0);  // 32 / 16
}

TEST(LoraConfig, UnknownKeySuggestsTheName) {
  const std::string msg = error_of([] { trl::lora_config_from_json({{"lora_alpah", 16}}, "run.json: peft"); });
  EXPECT_NE(msg.find("run.json: peft"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean \"lora_alpha\""), std::string::npos) << msg;
}

TEST(LoraConfig, RefusesWhatIsNotImplemented) {
  EXPECT_NE(error_of([] { trl::lora_config_from_json({{"init_lora_weights", "pissa"}}, "peft"); }).find("not implemented"),
            std::string::npos);
  EXPECT_NE(error_of([] { trl::lora_config_from_json({{"fan_in_fan_out", true}}, "peft"); }).find("Conv1D"),
            std::string::npos);
  EXPECT_NE(error_of([] { trl::lora_config_from_json({{"target_modules", {"q_proj", "lm_head"}}}, "peft"); })
                .find("lm_head"),
            std::string::npos);
  EXPECT_NE(error_of([] { trl::lora_config_from_json({{"r", 0}}, "peft"); }).find("r"), std::string::npos);
  EXPECT_NE(error_of([] { trl::lora_config_from_json({{"lora_dropout", 1.0}}, "peft"); }).find("lora_dropout"),
            std::string::npos);
  // PEFT-only fields at their defaults are accepted, so a PEFT LoraConfig pastes in.
  EXPECT_NO_THROW(trl::lora_config_from_json(
      {{"task_type", "CAUSAL_LM"}, {"fan_in_fan_out", false}, {"modules_to_save", nullptr}, {"rank_pattern", nlohmann::json::object()}},
      "peft"));
}

TEST(LoraConfig, TargetMatchingFollowsPeft) {
  auto model = trl::CausalLM::from_config(tiny_model_config(), 3);
  // A list entry matches a module name or a dotted suffix; a string is a full-match regex.
  trl::add_lora_adapters(*model, trl::lora_config_from_json({{"target_modules", {"mlp.up_proj"}}}, "peft"), 1);
  EXPECT_EQ(trl::lora_named_parameters(*model).size(), 4u);  // 2 layers x (A, B)
  auto other = trl::CausalLM::from_config(tiny_model_config(), 3);
  trl::add_lora_adapters(*other, trl::lora_config_from_json({{"target_modules", ".*\\.1\\.self_attn\\.(q|k)_proj"}}, "peft"),
                         1);
  const auto& named = trl::lora_named_parameters(*other);
  ASSERT_EQ(named.size(), 4u);
  EXPECT_EQ(named[0].first, "base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight");
  auto none = trl::CausalLM::from_config(tiny_model_config(), 3);
  EXPECT_THROW(trl::add_lora_adapters(*none, trl::lora_config_from_json({{"target_modules", {"c_attn"}}}, "peft"), 1),
               trl::ConfigError);
}

// ---- the adapted model -----------------------------------------------------------------------------

TEST(LoraAdapters, FreshAdaptersChangeNothingAndFreezeTheBase) {
  at::set_num_threads(1);
  auto model = trl::CausalLM::from_config(tiny_model_config(), 3);
  model->set_requires_grad(true);
  const at::Tensor before = hidden_of(*model);
  trl::add_lora_adapters(*model, trl::lora_config_from_json({{"r", 4}, {"target_modules", "all-linear"}}, "peft"), 11);
  EXPECT_TRUE(at::equal(hidden_of(*model), before));  // B = 0: an identity start (init_lora_weights true)
  for (const auto& [name, t] : model->named_parameters()) EXPECT_FALSE(t.requires_grad()) << name;
  const auto trainable = trl::trainable_named_parameters(*model);
  ASSERT_EQ(trainable.size(), 2u * 7u * 2u);  // 2 layers x 7 projections x (A, B)
  EXPECT_EQ(trainable[0].first, "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
  EXPECT_EQ(trainable[1].first, "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight");
  EXPECT_EQ(trainable.back().first, "base_model.model.model.layers.1.mlp.down_proj.lora_B.weight");
  for (const auto& [name, t] : trainable) EXPECT_TRUE(t.requires_grad()) << name;
  // A: kaiming_uniform(a=sqrt(5)) as nn.Linear, i.e. U(-1/sqrt(in), 1/sqrt(in)); B: zeros.
  const at::Tensor A = trainable[0].second;  // (4, 32)
  EXPECT_EQ(A.sizes(), at::IntArrayRef({4, 32}));
  EXPECT_LE(A.abs().max().item<double>(), 1.0 / std::sqrt(32.0));
  EXPECT_GT(A.abs().max().item<double>(), 0.5 / std::sqrt(32.0));
  EXPECT_EQ(trainable[1].second.abs().sum().item<double>(), 0.0);
}

TEST(LoraAdapters, OnlyAdaptersReceiveGradients) {
  auto model = trl::CausalLM::from_config(tiny_model_config(), 3);
  trl::add_lora_adapters(*model, trl::lora_config_from_json({{"r", 2}}, "peft"), 5);
  perturb_adapters(*model, 9);
  const at::Tensor ids = at::arange(6, at::kLong).reshape({1, 6});
  model->hidden_states(ids).pow(2).mean().backward();
  for (const auto& [name, t] : model->named_parameters()) EXPECT_FALSE(t.grad().defined()) << name;
  for (const auto& [name, t] : trl::lora_named_parameters(*model)) {
    ASSERT_TRUE(t.grad().defined()) << name;
    EXPECT_GT(t.grad().abs().sum().item<double>(), 0.0) << name;
  }
}

TEST(LoraAdapters, DisabledScopeGivesTheBaseModelsOutputExactly) {
  at::set_num_threads(1);
  auto model = trl::CausalLM::from_config(tiny_model_config("llama"), 3);
  auto base = model->clone();
  trl::add_lora_adapters(*model, trl::lora_config_from_json({{"target_modules", "all-linear"}}, "peft"), 5);
  perturb_adapters(*model, 9);
  const at::Tensor adapted = hidden_of(*model);
  EXPECT_FALSE(at::allclose(adapted, hidden_of(*base)));
  {
    const trl::LoraAdaptersDisabled off(*model);
    {
      const trl::LoraAdaptersDisabled nested(*model);
      EXPECT_TRUE(at::equal(hidden_of(*model), hidden_of(*base)));
    }
    EXPECT_TRUE(at::equal(hidden_of(*model), hidden_of(*base)));  // still off: the outer scope holds
  }
  EXPECT_TRUE(at::equal(hidden_of(*model), adapted));
}

TEST(LoraAdapters, ReferenceModelIsThePolicyWithAdaptersOff) {
  at::set_num_threads(1);
  auto model = trl::CausalLM::from_config(tiny_model_config(), 3);
  auto base = model->clone();
  trl::add_lora_adapters(*model, trl::lora_config_from_json({{"r", 4}}, "peft"), 5);
  perturb_adapters(*model, 9);
  const trl::ReferenceModel reference(static_cast<const trl::CausalLM&>(*model));
  EXPECT_TRUE(reference.is_adapter_off_policy());
  EXPECT_EQ(reference.separate_model(), nullptr);
  bool grad_mode = true;
  const at::Tensor ref_hidden = reference.run([&](const trl::CausalLM& m) {
    grad_mode = at::GradMode::is_enabled();
    return hidden_of(m);
  });
  EXPECT_FALSE(grad_mode);
  EXPECT_TRUE(at::equal(ref_hidden, hidden_of(*base)));
  EXPECT_FALSE(at::allclose(hidden_of(*model), ref_hidden));  // adapters are back after run()
}

// ---- against the PEFT reference (tests/golden/make_lora_golden.py) ---------------------------------------

const nlohmann::json& lora_golden() {
  static const nlohmann::json golden = [] {
    std::ifstream in(std::string(TRL_TEST_DATA_DIR) + "/golden/lora_golden.json");
    return nlohmann::json::parse(in);
  }();
  return golden;
}

std::string golden_dir(const std::string& name) { return std::string(TRL_TEST_DATA_DIR) + "/golden/" + name; }

// Logits (B, T, V) of the golden inputs at real tokens (rows of the real-token set, V).
at::Tensor golden_logits(const trl::CausalLM& model) {
  const at::Tensor ids = json_tensor(lora_golden()["input_ids"], at::kLong);
  const at::Tensor mask = json_tensor(lora_golden()["attention_mask"], at::kLong);
  c10::InferenceMode guard;
  return model.logits(model.hidden_states(ids, mask)).index({mask.to(at::kBool)});
}

at::Tensor expected_logits(const std::string& key) {
  const at::Tensor mask = json_tensor(lora_golden()["attention_mask"], at::kLong);
  return json_tensor(lora_golden()[key], at::kFloat).index({mask.to(at::kBool)});
}

// Reference: PEFT lora.Linear (unmerged) on the qwen2 golden model, float32, seed 20251125: tol 1e-4 + 1e-4·|x|.
TEST(LoraGolden, AdapterFromPeftFolderMatchesReferenceLogits) {
  at::set_num_threads(1);
  auto model = trl::CausalLM::from_pretrained(golden_dir("model/qwen2"));
  trl::load_lora_adapter(*model, golden_dir("lora/qwen2"));
  const trl::LoraConfig& c = trl::lora_config(*model);
  EXPECT_EQ(c.r, 4);
  EXPECT_DOUBLE_EQ(c.scaling(), 2.0);
  EXPECT_EQ(c.base_model_name_or_path.value_or(""), "tests/golden/model/qwen2");
  const at::Tensor ours = golden_logits(*model), theirs = expected_logits("logits");
  EXPECT_TRUE(at::allclose(ours, theirs, 1e-4, 1e-4)) << "max |diff| " << (ours - theirs).abs().max().item<float>();
}

// Merged = base + adapter within 1e-5 (the bound); the merged model also matches PEFT's merge.
TEST(LoraGolden, MergedModelMatchesAdapterLogits) {
  at::set_num_threads(1);
  auto model = trl::CausalLM::from_pretrained(golden_dir("model/qwen2"));
  trl::load_lora_adapter(*model, golden_dir("lora/qwen2"));
  const at::Tensor adapted = golden_logits(*model);
  trl::merge_lora_adapters(*model);
  EXPECT_FALSE(trl::has_lora_adapters(*model));
  const at::Tensor merged = golden_logits(*model);
  EXPECT_TRUE(at::allclose(merged, adapted, 1e-5, 1e-5)) << "max |diff| " << (merged - adapted).abs().max().item<float>();
  const at::Tensor theirs = expected_logits("merged_logits");
  EXPECT_TRUE(at::allclose(merged, theirs, 1e-4, 1e-4)) << "max |diff| " << (merged - theirs).abs().max().item<float>();
}

// ---- files -------------------------------------------------------------------------------------------

TEST(LoraFiles, SaveWritesPeftLayoutAndLoadsBack) {
  at::set_num_threads(1);
  const ScratchDir dir("lora-save");
  auto model = trl::CausalLM::from_config(tiny_model_config(), 3);
  auto base = model->clone();
  trl::LoraConfig config = trl::lora_config_from_json(
      {{"r", 2}, {"lora_alpha", 16}, {"lora_dropout", 0.05}, {"target_modules", {"q_proj", "down_proj"}}}, "peft");
  config.base_model_name_or_path = "Qwen/Qwen2-0.5B";
  trl::add_lora_adapters(*model, config, 5);
  perturb_adapters(*model, 9);
  trl::save_lora_adapter(*model, dir.path());

  EXPECT_TRUE(fs::is_regular_file(dir.path("adapter_model.safetensors")));
  EXPECT_FALSE(fs::exists(dir.path("model.safetensors")));
  const trl::SafetensorsFile file(dir.path("adapter_model.safetensors"));
  EXPECT_EQ(file.metadata().at("format"), "pt");
  ASSERT_EQ(file.entries().size(), 8u);  // 2 layers x 2 modules x (A, B)
  EXPECT_TRUE(file.contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"));
  EXPECT_TRUE(file.contains("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight"));
  EXPECT_EQ(file.entry("base_model.model.model.layers.0.mlp.down_proj.lora_A.weight").shape,
            (std::vector<int64_t>{2, 48}));  // (r, intermediate)
  EXPECT_EQ(file.entry("base_model.model.model.layers.0.mlp.down_proj.lora_B.weight").shape,
            (std::vector<int64_t>{32, 2}));  // (hidden, r)

  std::ifstream in(dir.path("adapter_config.json"));
  const nlohmann::json j = nlohmann::json::parse(in);
  EXPECT_EQ(j["peft_type"], "LORA");
  EXPECT_EQ(j["task_type"], "CAUSAL_LM");
  EXPECT_EQ(j["r"], 2);
  EXPECT_TRUE(j["lora_alpha"].is_number_integer());
  EXPECT_EQ(j["lora_alpha"], 16);
  EXPECT_DOUBLE_EQ(j["lora_dropout"].get<double>(), 0.05);
  EXPECT_EQ(j["target_modules"], nlohmann::json({"q_proj", "down_proj"}));
  EXPECT_EQ(j["bias"], "none");
  EXPECT_EQ(j["base_model_name_or_path"], "Qwen/Qwen2-0.5B");
  EXPECT_EQ(j["fan_in_fan_out"], false);
  EXPECT_EQ(j["inference_mode"], true);
  EXPECT_EQ(j["use_rslora"], false);
  EXPECT_EQ(j["use_dora"], false);
  EXPECT_TRUE(j["modules_to_save"].is_null());
  EXPECT_EQ(j["init_lora_weights"], true);

  trl::load_lora_adapter(*base, dir.path());
  EXPECT_TRUE(at::equal(hidden_of(*base), hidden_of(*model)));
}

TEST(LoraFiles, LoadRefusesMismatchedTensors) {
  const ScratchDir dir("lora-bad");
  auto model = trl::CausalLM::from_config(tiny_model_config(), 3);
  trl::add_lora_adapters(*model, trl::lora_config_from_json({{"r", 2}}, "peft"), 5);
  trl::save_lora_adapter(*model, dir.path());
  // The config now says r=4 while the file holds rank-2 tensors.
  nlohmann::json j;
  {
    std::ifstream in(dir.path("adapter_config.json"));
    j = nlohmann::json::parse(in);
  }
  j["r"] = 4;
  std::ofstream(dir.path("adapter_config.json")) << j.dump();
  auto fresh = trl::CausalLM::from_config(tiny_model_config(), 3);
  try {
    trl::load_lora_adapter(*fresh, dir.path());
    FAIL() << "expected a ModelError";
  } catch (const trl::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("adapter_model.safetensors"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("shape"), std::string::npos) << e.what();
  }
  j["peft_type"] = "IA3";
  std::ofstream(dir.path("adapter_config.json")) << j.dump();
  auto other = trl::CausalLM::from_config(tiny_model_config(), 3);
  EXPECT_THROW(trl::load_lora_adapter(*other, dir.path()), trl::ModelError);
}

// ---- training through the SDK loop ---------------------------------------------------------------------

// Loss: mean squared logit plus the squared distance to the reference's hidden state; the
// reference is whatever the SDK hands a trainer (here: the adapter-off policy).
class ReferenceTrainer : public trl::Trainer {
 public:
  void prepare(trl::TrainerContext& ctx) override { reference_ = trl::ReferenceModel::from_context(ctx); }
  int64_t micro_batches_per_epoch() const override { return 4; }
  at::Tensor compute_loss(trl::TrainerContext& ctx, int64_t index, trl::Metrics&) override {
    const at::Tensor ids = at::arange(8, at::kLong).add(index * 3).remainder(64).reshape({2, 4});
    const at::Tensor hidden = ctx.model.hidden_states(ids);
    const at::Tensor ref = reference_->run([&](const trl::CausalLM& m) { return m.hidden_states(ids); });
    // The logits' scale (the final norm makes the hidden state's scale constant) and the KL-like pull back.
    return ctx.model.logits(hidden).pow(2).mean() + (hidden - ref).pow(2).mean();
  }
  std::unique_ptr<trl::ReferenceModel> reference_;
};

class NoComponents : public trl::ComponentProvider {
 public:
  std::unique_ptr<trl::RewardFunction> make_reward(const nlohmann::json&, const std::string&) override { return {}; }
  std::unique_ptr<trl::GroupFilter> make_group_filter(const nlohmann::json&, const std::string&) override {
    return {};
  }
};

class LoraTraining : public ::testing::Test {
 protected:
  void SetUp() override {
    at::set_num_threads(1);
    tokenizer_ = trl::Tokenizer::byte_level();
  }

  // Trains a fresh seed-7 model with a peft block; returns the model after the run.
  std::unique_ptr<trl::CausalLM> train(ReferenceTrainer& trainer, nlohmann::json extra) {
    nlohmann::json config = {{"output_dir", dir_.path()}, {"max_steps", 4}, {"logging_steps", 1},
                             {"save_steps", 2},           {"learning_rate", 5e-2}, {"seed", 3}};
    for (auto it = extra.begin(); it != extra.end(); ++it) config[it.key()] = it.value();
    args_ = trl::training_arguments_params().validate(config, "test");
    targs_ = trl::TrainingArguments::from_args(args_);
    auto model = trl::CausalLM::from_config(tiny_model_config(), 7);
    model->set_requires_grad(true);
    run_.path = "test.json";
    run_.model = "base-model-dir";
    run_.peft = peft_;
    trl::TrainerContext ctx{run_, targs_, args_, *model, *tokenizer_, components_, c10::Device(c10::kCPU), c10::kFloat};
    trl::TrainingLoop loop(ctx, trainer, {});
    loop.run();
    return model;
  }

  std::vector<double> losses() const {
    std::vector<double> out;
    std::ifstream in(dir_.path("metrics.jsonl"));
    std::string line;
    while (std::getline(in, line)) {
      const nlohmann::json j = nlohmann::json::parse(line);
      if (j.contains("loss")) out.push_back(j["loss"].get<double>());
    }
    return out;
  }

  nlohmann::json peft_ = {{"r", 4}, {"lora_alpha", 8}, {"target_modules", "all-linear"}};
  ScratchDir dir_{"lora-train"};
  std::unique_ptr<trl::Tokenizer> tokenizer_;
  trl::RunConfig run_;
  trl::Args args_;
  trl::TrainingArguments targs_;
  NoComponents components_;
};

TEST_F(LoraTraining, TrainsOnlyAdaptersAndSavesPeftLayout) {
  ReferenceTrainer trainer;
  auto model = train(trainer, nlohmann::json::object());
  ASSERT_TRUE(trainer.reference_->is_adapter_off_policy());
  const auto fresh = trl::CausalLM::from_config(tiny_model_config(), 7);
  for (size_t i = 0; i < fresh->named_parameters().size(); ++i)
    EXPECT_TRUE(at::equal(model->named_parameters()[i].second, fresh->named_parameters()[i].second))
        << model->named_parameters()[i].first << " changed";
  double b_norm = 0.0;
  for (const auto& [name, t] : trl::lora_named_parameters(*model))
    if (name.find("lora_B") != std::string::npos) b_norm += t.abs().sum().item<double>();
  EXPECT_GT(b_norm, 0.0);  // the adapters trained
  for (const std::string& d : {dir_.path(), dir_.path("checkpoint-2")}) {
    EXPECT_TRUE(fs::is_regular_file(d + "/adapter_model.safetensors")) << d;
    EXPECT_TRUE(fs::is_regular_file(d + "/adapter_config.json")) << d;
    EXPECT_FALSE(fs::exists(d + "/model.safetensors")) << d;
  }
  EXPECT_TRUE(fs::is_regular_file(dir_.path("tokenizer_config.json")) || fs::is_regular_file(dir_.path("tokenizer.json")));
  const trl::SafetensorsFile optimizer(dir_.path("checkpoint-2/optimizer.safetensors"));
  EXPECT_TRUE(optimizer.contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight.exp_avg"));
  EXPECT_EQ(optimizer.entries().size(), 2u * 7u * 2u * 3u);  // adapters only: exp_avg, exp_avg_sq, step
  std::ifstream in(dir_.path("adapter_config.json"));
  EXPECT_EQ(nlohmann::json::parse(in)["base_model_name_or_path"], "base-model-dir");
}

TEST_F(LoraTraining, ResumeFromCheckpointGivesTheSameLossesAndAdapters) {
  ReferenceTrainer first;
  auto full = train(first, nlohmann::json::object());
  const std::vector<double> full_losses = losses();
  ASSERT_EQ(full_losses.size(), 4u);
  ReferenceTrainer second;
  auto resumed = train(second, {{"resume_from_checkpoint", dir_.path("checkpoint-2")}});
  const std::vector<double> resumed_losses = losses();
  ASSERT_EQ(resumed_losses.size(), 4u);  // the checkpoint's history, then steps 3 and 4 again
  EXPECT_DOUBLE_EQ(resumed_losses[2], full_losses[2]);
  EXPECT_DOUBLE_EQ(resumed_losses[3], full_losses[3]);
  const auto& a = trl::lora_named_parameters(*full);
  const auto& b = trl::lora_named_parameters(*resumed);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(at::equal(a[i].second, b[i].second)) << a[i].first;
}

// DoRA with trained biases through the loop: the base weights stay bit-identical, the magnitudes and the
// biases train, both are checkpointed (adapter file and AdamW state) and a resume repeats the same losses.
TEST_F(LoraTraining, DoraWithTrainedBiasesTrainsSavesAndResumes) {
  peft_ = {{"r", 4}, {"lora_alpha", 8}, {"target_modules", {"q_proj", "v_proj"}}, {"use_dora", true}, {"bias", "all"}};
  ReferenceTrainer first;
  auto full = train(first, nlohmann::json::object());
  const std::vector<double> full_losses = losses();
  const auto fresh = trl::CausalLM::from_config(tiny_model_config(), 7);
  for (size_t i = 0; i < fresh->named_parameters().size(); ++i) {
    const auto& [name, t] = full->named_parameters()[i];
    const bool is_bias = name.find(".bias") != std::string::npos;
    EXPECT_EQ(at::equal(t, fresh->named_parameters()[i].second), !is_bias) << name;  // only biases moved
  }
  const trl::SafetensorsFile saved(dir_.path("adapter_model.safetensors"));
  EXPECT_TRUE(saved.contains("base_model.model.model.layers.1.self_attn.v_proj.lora_magnitude_vector"));
  EXPECT_TRUE(saved.contains("base_model.model.model.layers.1.self_attn.k_proj.bias"));
  const trl::SafetensorsFile optimizer(dir_.path("checkpoint-2/optimizer.safetensors"));
  EXPECT_TRUE(optimizer.contains("base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector.exp_avg"));
  EXPECT_TRUE(optimizer.contains("base_model.model.model.layers.0.self_attn.q_proj.base_layer.bias.exp_avg_sq"));

  ReferenceTrainer second;
  auto resumed = train(second, {{"resume_from_checkpoint", dir_.path("checkpoint-2")}});
  const std::vector<double> resumed_losses = losses();
  ASSERT_EQ(full_losses.size(), 4u);
  ASSERT_EQ(resumed_losses.size(), 4u);
  EXPECT_DOUBLE_EQ(resumed_losses[3], full_losses[3]);
  const auto a = trl::trainable_named_parameters(*full);
  const auto b = trl::trainable_named_parameters(*resumed);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(at::equal(a[i].second, b[i].second)) << a[i].first;
}

}  // namespace
