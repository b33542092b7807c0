// The `dpo` trainer on a tiny real model: first-step loss ln 2, metrics against their definitions computed
// from full logits, precompute vs live reference, TR-DPO mixing, every loss type trains, explicit
// reference untouched, chat data, the missing-dataset error (spec/trl-reference.md §1, §5 items 2, 4, 6, 7, 10).
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include "component_catalog.h"
#include "dpo_loss_config.h"
#include "dpo_trainer.h"
#include "train/autocast_scope.h"
#include "trl/sdk/error.h"
#include "trl/sdk/log.h"
#include "trl/sdk/model/causal_lm.h"
#include "trl/sdk/model/token_stats.h"
#include "trl/sdk/tokenizer/tokenizer.h"
#include "trl/sdk/train/context.h"
#include "trl/sdk/train/loop.h"
#include "trl/sdk/train/metrics.h"
#include "trl/sdk/train/training_args.h"

namespace {
namespace fs = std::filesystem;

// A one-layer byte-vocabulary Qwen2 config, with `overrides` merged over it.
trl::ModelConfig tiny_config(const nlohmann::json& overrides = nlohmann::json::object()) {
  nlohmann::json j = {{"architectures", {"Qwen2ForCausalLM"}},
                      {"model_type", "qwen2"},
                      {"vocab_size", 320},
                      {"hidden_size", 16},
                      {"intermediate_size", 32},
                      {"num_hidden_layers", 1},
                      {"num_attention_heads", 2},
                      {"num_key_value_heads", 1},
                      {"initializer_range", 0.2},
                      {"eos_token_id", 256}};
  j.merge_patch(overrides);
  return trl::ModelConfig::from_json(j, "tiny config.json");
}

class NoComponents : public trl::ComponentProvider {
 public:
  std::unique_ptr<trl::RewardFunction> make_reward(const nlohmann::json&, const std::string&) override { return {}; }
  std::unique_ptr<trl::GroupFilter> make_group_filter(const nlohmann::json&, const std::string&) override {
    return {};
  }
};

// A trainer built from an "args" object exactly as the host builds it, with its context.
class DpoHarness {
 public:
  DpoHarness(const fs::path& dir, nlohmann::json args, const std::string& dataset,
             std::optional<std::string> ref_model = std::nullopt, const trl::ModelConfig& config = tiny_config()) {
    args["output_dir"] = (dir / "out").string();
    if (!args.contains("per_device_train_batch_size")) args["per_device_train_batch_size"] = 4;
    const trl::ParamTable table = trl::host::merge_trainer_params(trl::training_arguments_params(),
                                                                  trl::dpo::dpo_trainer_params());
    all_args = table.validate(args, "test: args");
    targs = trl::TrainingArguments::from_args(all_args);
    run.path = "test";
    run.train_dataset = dataset;
    run.ref_model = std::move(ref_model);
    model = trl::CausalLM::from_config(config, 11);
    model->set_requires_grad(true);
    tokenizer = trl::Tokenizer::byte_level();
    trainer = std::make_unique<trl::dpo::DpoTrainer>(all_args);
    ctx = std::make_unique<trl::TrainerContext>(trl::TrainerContext{
        run, targs, all_args, *model, *tokenizer, components, c10::Device(c10::kCPU), c10::kFloat});
  }
  trl::RunConfig run;
  trl::Args all_args;
  trl::TrainingArguments targs;
  std::unique_ptr<trl::CausalLM> model;
  std::unique_ptr<trl::Tokenizer> tokenizer;
  NoComponents components;
  std::unique_ptr<trl::dpo::DpoTrainer> trainer;
  std::unique_ptr<trl::TrainerContext> ctx;
};

class DpoTrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    at::set_num_threads(1);
    dir_ = fs::temp_directory_path() / ("trl_dpo_trainer_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    data_ = (dir_ / "prefs.jsonl").string();
    std::ofstream out(data_);
    const char* rows[] = {
        R"({"prompt": "Can you help?", "chosen": " Sure, gladly!", "rejected": " No."})",
        R"({"prompt": "Open the door.", "chosen": " Of course.", "rejected": " Do it yourself, I am busy."})",
        R"({"prompt": "Fix the lamp?", "chosen": " Happy to help!", "rejected": " Go away."})",
        R"({"prompt": "Please wait.", "chosen": " Thank you, I will.", "rejected": " Stop asking."})",
        R"({"prompt": "Lock the pen?", "chosen": " Yes, done.", "rejected": " Never."})",
        R"({"prompt": "Close the map.", "chosen": " My pleasure!", "rejected": " Not my problem at all."})",
        R"({"prompt": "Move the cup.", "chosen": " Right away.", "rejected": " Nope."})",
        R"({"prompt": "Check the sink.", "chosen": " Sure thing!", "rejected": " Leave me alone."})"};
    for (const char* r : rows) out << r << "\n";
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
  std::string data_;
};

// Reference: the invariance of TRL's tests (§1.5, §5 item 10): with the policy equal to the reference
// every log-ratio is 0, so −logσ(0) = ln 2; float32, tolerance 1e-6.
TEST_F(DpoTrainerTest, FirstStepSigmoidLossIsLn2) {
  DpoHarness h(dir_, {{"beta", 0.1}}, data_);
  h.trainer->prepare(*h.ctx);
  trl::Metrics metrics;
  const at::Tensor loss = h.trainer->compute_loss(*h.ctx, 0, metrics);
  EXPECT_NEAR(loss.item<double>(), std::log(2.0), 1e-6);
  const nlohmann::json m = metrics.means();
  EXPECT_EQ(m["rewards/accuracies"].get<double>(), 0.0);  // strict inequality at initialisation
  EXPECT_NEAR(m["rewards/margins"].get<double>(), 0.0, 1e-6);
}

// Legacy reference_free (§1.9), as TRL's legacy trainer: the loss reads the reference as 0, so at
// initialisation it is −logσ(β(π_c − π_r)) rather than ln 2, while rewards/* use the (loaded) reference and
// are exactly 0 there (policy == reference).
TEST_F(DpoTrainerTest, ReferenceFreeLossIgnoresTheReferenceButRewardsUseIt) {
  DpoHarness h(dir_, {{"beta", 0.1}, {"reference_free", true}}, data_);
  h.trainer->prepare(*h.ctx);
  ASSERT_NE(h.trainer->ref_model(), nullptr) << "the reference model is loaded for the rewards";
  trl::Metrics metrics;
  const double loss = h.trainer->compute_loss(*h.ctx, 0, metrics).item<double>();
  const nlohmann::json m = metrics.means();
  for (const char* name : {"rewards/chosen", "rewards/rejected", "rewards/margins"})
    EXPECT_NEAR(m[name].get<double>(), 0.0, 1e-6) << name;
  EXPECT_EQ(m["rewards/accuracies"].get<double>(), 0.0);
  // The loss from the logged policy log-probs (one batch: means of per-row values are those of the batch).
  const double margin = 0.1 * (m["logps/chosen"].get<double>() - m["logps/rejected"].get<double>());
  EXPECT_GT(std::fabs(loss - std::log(2.0)), 1e-3) << "the loss must not see the reference";
  // −logσ is convex, so the mean over pairs is at least −logσ of the mean margin.
  EXPECT_GE(loss + 1e-6, std::log1p(std::exp(-margin)));
}

TEST_F(DpoTrainerTest, GradientAccumulationScalesTheLoss) {
  DpoHarness h(dir_, {{"gradient_accumulation_steps", 4}}, data_);
  h.trainer->prepare(*h.ctx);
  trl::Metrics metrics;
  EXPECT_NEAR(h.trainer->compute_loss(*h.ctx, 0, metrics).item<double>(), std::log(2.0) / 4, 1e-6);
}

// The §1.7 definitions recomputed from full (2B, T, V) logits of the same batch.
TEST_F(DpoTrainerTest, TokenMetricsMatchTheirDefinitions) {
  DpoHarness h(dir_, {{"per_device_train_batch_size", 8}}, data_);
  h.trainer->prepare(*h.ctx);
  {
    // Move the policy away from the reference so the metrics are not trivial.
    at::NoGradGuard no_grad;
    for (const auto& [name, w] : h.model->named_parameters()) w.add_(at::randn(w.sizes()) * 0.05);
  }
  trl::Metrics metrics;
  h.trainer->compute_loss(*h.ctx, 0, metrics);
  const nlohmann::json m = metrics.means();

  // The same batch by hand: every pair, in sampler order (one batch of 8 = the whole epoch).
  trl::PreferenceTokenizeOptions options;
  auto pairs = trl::tokenize_preferences(trl::load_preference_dataset(data_), *h.tokenizer, options);
  trl::EpochSampler sampler(8, 8, h.targs.seed);
  std::vector<const trl::TokenizedPair*> batch_pairs;
  for (int64_t i : sampler.batch(0)) batch_pairs.push_back(&pairs[i]);
  const trl::PreferenceBatch batch = trl::collate_preferences(batch_pairs, 256, 1024, trl::TruncationMode::keep_start);
  at::NoGradGuard no_grad;
  const at::Tensor logits = h.model->logits(h.model->hidden_states(batch.input_ids, batch.attention_mask))
                                .slice(1, 0, -1)
                                .to(at::kDouble);                                    // (2B, L, V)
  const at::Tensor labels = batch.input_ids.slice(1, 1);                            // (2B, L)
  const at::Tensor mask = batch.completion_mask.slice(1, 1).to(at::kBool);          // (2B, L)
  const at::Tensor logp = logits.log_softmax(-1);
  const at::Tensor entropy = -(logp.exp() * logp).sum(-1);                          // (2B, L)
  const at::Tensor mean_logit = logits.mean(-1);
  const at::Tensor hit = logits.argmax(-1).eq(labels);
  const int64_t b = 8;
  const at::Tensor chosen = mask.slice(0, 0, b), rejected = mask.slice(0, b);
  EXPECT_NEAR(m["entropy"].get<double>(), entropy.masked_select(mask).mean().item<double>(), 1e-4);
  EXPECT_NEAR(m["logits/chosen"].get<double>(), mean_logit.slice(0, 0, b).masked_select(chosen).mean().item<double>(),
              1e-4);
  EXPECT_NEAR(m["logits/rejected"].get<double>(),
              mean_logit.slice(0, b).masked_select(rejected).mean().item<double>(), 1e-4);
  EXPECT_NEAR(m["mean_token_accuracy"].get<double>(),
              hit.slice(0, 0, b).masked_select(chosen).to(at::kDouble).mean().item<double>(), 1e-9);
  const at::Tensor token_logp = logp.gather(-1, labels.unsqueeze(-1)).squeeze(-1).masked_fill(~mask, 0).sum(1);
  EXPECT_NEAR(m["logps/chosen"].get<double>(), token_logp.slice(0, 0, b).mean().item<double>(), 1e-3);
  EXPECT_NEAR(m["logps/rejected"].get<double>(), token_logp.slice(0, b).mean().item<double>(), 1e-3);
  EXPECT_DOUBLE_EQ(m["num_tokens"].get<double>(), batch.attention_mask.sum().item<double>());
}

TEST_F(DpoTrainerTest, PrecomputedReferenceGivesTheLiveLoss) {
  DpoHarness live(dir_, {}, data_);
  DpoHarness pre(dir_, {{"precompute_ref_log_probs", true}, {"precompute_ref_batch_size", 3}}, data_);
  for (DpoHarness* h : {&live, &pre}) {
    h->trainer->prepare(*h->ctx);
    at::NoGradGuard no_grad;
    at::manual_seed(5);  // the same move of both policies away from their (initial) reference
    for (const auto& [name, w] : h->model->named_parameters()) w.add_(at::randn(w.sizes()) * 0.05);
  }
  EXPECT_EQ(pre.trainer->ref_model(), nullptr);  // the precomputed columns replace the model
  trl::Metrics a, b;
  const double live_loss = live.trainer->compute_loss(*live.ctx, 0, a).item<double>();
  const double pre_loss = pre.trainer->compute_loss(*pre.ctx, 0, b).item<double>();
  EXPECT_NE(live_loss, std::log(2.0));
  EXPECT_NEAR(pre_loss, live_loss, 1e-5);
  EXPECT_NEAR(a.means()["rewards/margins"].get<double>(), b.means()["rewards/margins"].get<double>(), 1e-5);
}

// §1.1: a null precompute_ref_batch_size falls back to the train batch size for the train pairs and to the
// eval batch size for the eval pairs (TRL's `precompute_ref_batch_size or per_device_eval_batch_size`).
TEST_F(DpoTrainerTest, PrecomputeBatchesEvalPairsByTheEvalBatchSize) {
  DpoHarness h(dir_, {{"precompute_ref_log_probs", true}, {"per_device_train_batch_size", 2},
                      {"per_device_eval_batch_size", 5}}, data_);
  h.run.eval_dataset = data_;
  const std::string log_path = (dir_ / "run.log").string();
  trl::log::set_file_sink(log_path);
  h.trainer->prepare(*h.ctx);
  trl::log::clear_file_sink();
  std::ifstream in(log_path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("reference log-probs of 8 pairs in batches of 2"), std::string::npos) << text;
  EXPECT_NE(text.find("reference log-probs of 8 pairs in batches of 5"), std::string::npos) << text;
}

// TR-DPO (§1.6): at steps divisible by ref_model_sync_steps, θ_ref ← (1−α)·θ_ref + α·θ_policy.
TEST_F(DpoTrainerTest, TrDpoMixesWithAlphaAtSyncSteps) {
  DpoHarness h(dir_, {{"sync_ref_model", true}, {"ref_model_sync_steps", 2}, {"ref_model_mixup_alpha", 0.6}}, data_);
  h.trainer->prepare(*h.ctx);
  {
    at::NoGradGuard no_grad;
    for (const auto& [name, w] : h.model->named_parameters()) w.add_(1.0);
  }
  std::vector<at::Tensor> before;
  for (const auto& [name, w] : h.trainer->ref_model()->named_parameters()) before.push_back(w.clone());
  h.trainer->on_optimizer_step(*h.ctx, 1);
  const auto& ref = h.trainer->ref_model()->named_parameters();
  for (size_t i = 0; i < ref.size(); ++i) EXPECT_TRUE(at::equal(ref[i].second, before[i])) << ref[i].first;
  h.trainer->on_optimizer_step(*h.ctx, 2);
  const auto& policy = h.model->named_parameters();
  for (size_t i = 0; i < ref.size(); ++i) {
    const at::Tensor expected = before[i] * 0.4 + policy[i].second.detach() * 0.6;
    EXPECT_TRUE(at::allclose(ref[i].second, expected, 1e-6, 1e-6)) << ref[i].first;
  }
}

// §5 item 2: every loss type trains, and every parameter changes.
TEST_F(DpoTrainerTest, EveryLossTypeTrains) {
  for (const std::string& type : trl::dpo::dpo_loss_type_names()) {
    nlohmann::json args = {{"loss_type", type}, {"max_steps", 2}, {"learning_rate", 1e-2}, {"save_steps", 0},
                           {"logging_steps", 1}};
    if (type == "exo_pair") args["label_smoothing"] = 1e-3;
    DpoHarness h(dir_ / type, args, data_);
    std::vector<at::Tensor> before;
    for (const auto& [name, w] : h.model->named_parameters()) before.push_back(w.detach().clone());
    trl::TrainingLoop loop(*h.ctx, *h.trainer, {});
    EXPECT_EQ(loop.run().global_step, 2) << type;
    const auto& after = h.model->named_parameters();
    for (size_t i = 0; i < after.size(); ++i)
      EXPECT_FALSE(at::equal(after[i].second, before[i])) << type << ": " << after[i].first << " did not change";
  }
}

// bf16=True (transformers' autocast mixed precision, train/autocast_scope.h): eight DPO steps at a learning rate
// that moves the loss (ln 2 down to about 0.26) track the float32 run's losses within bfloat16's precision
// (8-bit mantissa: 2^-8 relative per rounding; 0.01 absolute, where 1.4e-3 was measured), without being equal
// to them (autocast ran), and the weights stay float32. Seed 11 (DpoHarness), one thread.
TEST_F(DpoTrainerTest, Bf16AutocastTracksFloat32Losses) {
  auto losses = [&](bool bf16) {
    const fs::path dir = dir_ / (bf16 ? "bf16" : "fp32");
    DpoHarness h(dir, {{"bf16", bf16}, {"max_steps", 8}, {"learning_rate", 5e-3}, {"save_steps", 0},
                       {"logging_steps", 1}, {"report_to", "none"}}, data_);
    trl::TrainingLoop loop(*h.ctx, *h.trainer, {});
    EXPECT_EQ(loop.run().global_step, 8);
    for (const auto& [name, w] : h.model->named_parameters()) EXPECT_EQ(w.scalar_type(), at::kFloat) << name;
    std::vector<double> out;
    std::ifstream in(dir / "out" / "metrics.jsonl");
    for (std::string line; std::getline(in, line);) {
      const nlohmann::json entry = nlohmann::json::parse(line);
      if (entry.contains("loss")) out.push_back(entry["loss"].get<double>());
    }
    return out;
  };
  const std::vector<double> fp32 = losses(false), bf16 = losses(true);
  ASSERT_EQ(fp32.size(), 8u);
  ASSERT_EQ(bf16.size(), 8u);
  EXPECT_LT(fp32.back(), fp32.front() - 0.05) << "the run must move for the comparison to mean anything";
  bool differs = false;
  for (size_t i = 0; i < fp32.size(); ++i) {
    EXPECT_NEAR(bf16[i], fp32[i], 0.01) << "step " << i + 1;
    differs = differs || bf16[i] != fp32[i];
  }
  EXPECT_TRUE(differs) << "bf16 gave float32's losses bit for bit: autocast did not run";
}

// The reference's forward beside the policy's (ReferenceModel::run_beside: two threads, bf16 autocast, a model
// whose layers outweigh its lm_head) gives the loss, the rewards and the gradients of the reference run after
// the policy (TRL_SIDE_BY_SIDE=0). The second thread must take autocast over: without it the reference's
// log-probs would be float32's, and the loss 1e-3 away. Float32 runs the two in order either way (run_beside's
// rule): the same gradients to the bit.
TEST_F(DpoTrainerTest, ReferenceBesideThePolicyGivesTheSequentialStep) {
  // 2 layers of 64 x (2*64 + 2*32 + 3*256) multiply-adds per token against the lm_head's 320 x 64.
  const trl::ModelConfig wide = tiny_config({{"hidden_size", 64}, {"intermediate_size", 256}, {"num_hidden_layers", 2}});
  struct Step {
    double loss, margins;
    std::vector<at::Tensor> grads;
  };
  const auto step = [&](bool bf16, bool beside) {
    if (beside) unsetenv("TRL_SIDE_BY_SIDE"); else setenv("TRL_SIDE_BY_SIDE", "0", 1);
    at::set_num_threads(2);
    DpoHarness h(dir_ / (std::string(bf16 ? "bf16" : "fp32") + (beside ? "_beside" : "_after")), {{"bf16", bf16}},
                 data_, std::nullopt, wide);
    h.trainer->prepare(*h.ctx);
    {
      at::NoGradGuard no_grad;
      at::manual_seed(5);  // move the policy away from its reference, so that the log-ratios are not 0
      for (const auto& [name, w] : h.model->named_parameters()) w.add_(at::randn(w.sizes()) * 0.05);
    }
    trl::Metrics metrics;
    at::Tensor loss;
    {
      const trl::AutocastScope mixed(c10::Device(c10::kCPU), bf16);  // as the training loop
      loss = h.trainer->compute_loss(*h.ctx, 0, metrics);
    }
    loss.backward();
    Step out{loss.item<double>(), metrics.means()["rewards/margins"].get<double>(), {}};
    for (const auto& [name, w] : h.model->named_parameters()) out.grads.push_back(w.grad().clone());
    unsetenv("TRL_SIDE_BY_SIDE");
    at::set_num_threads(1);
    return out;
  };
  for (const bool bf16 : {false, true}) {
    const Step after = step(bf16, false), beside = step(bf16, true);
    EXPECT_NE(after.loss, std::log(2.0));
    EXPECT_NEAR(beside.loss, after.loss, 1e-6) << (bf16 ? "bf16" : "float32");
    EXPECT_NEAR(beside.margins, after.margins, 1e-6) << (bf16 ? "bf16" : "float32");
    ASSERT_EQ(beside.grads.size(), after.grads.size());
    for (size_t i = 0; i < after.grads.size(); ++i) {
      if (!bf16) {
        EXPECT_TRUE(at::equal(beside.grads[i], after.grads[i])) << "float32 " << i;
        continue;
      }
      // The policy's own bfloat16 products ran on one thread beside the reference, on two in order: oneDNN
      // may round them differently in the last bit, so the gradients agree within bfloat16's precision (2^-8)
      // of their scale.
      const double scale = after.grads[i].abs().max().item<double>();
      EXPECT_LE((beside.grads[i] - after.grads[i]).abs().max().item<double>(), scale / 256) << "bf16 " << i;
    }
  }
}

// §5 item 4: an explicit ref_model stays bit-identical after training.
TEST_F(DpoTrainerTest, ExplicitReferenceStaysIdentical) {
  const std::string ref_dir = (dir_ / "ref").string();
  trl::CausalLM::from_config(tiny_config(), 99)->save_pretrained(ref_dir);
  trl::Tokenizer::byte_level()->save(ref_dir);
  DpoHarness h(dir_, {{"max_steps", 2}, {"learning_rate", 1e-2}, {"save_steps", 0}}, data_, ref_dir);
  trl::TrainingLoop loop(*h.ctx, *h.trainer, {});
  loop.run();
  const auto saved = trl::CausalLM::from_pretrained(ref_dir);
  const auto& used = h.trainer->ref_model()->named_parameters();
  for (size_t i = 0; i < used.size(); ++i)
    EXPECT_TRUE(at::equal(used[i].second, saved->named_parameters()[i].second)) << used[i].first;
}

// §5 item 6: conversational data trains through the chat template.
TEST_F(DpoTrainerTest, ConversationalDataTrains) {
  const std::string chat = std::string(TRL_TEST_DATA_DIR) + "/../examples/data/prefs_chat.jsonl";
  DpoHarness h(dir_, {{"max_steps", 1}, {"save_steps", 0}}, chat);
  trl::TrainingLoop loop(*h.ctx, *h.trainer, {});
  EXPECT_EQ(loop.run().global_step, 1);
}

// §5 item 7.
TEST_F(DpoTrainerTest, MissingTrainDatasetIsAConfigError) {
  DpoHarness h(dir_, {}, "");
  try {
    h.trainer->prepare(*h.ctx);
    FAIL() << "expected ConfigError";
  } catch (const trl::ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "test: train_dataset: `train_dataset` is required");
  }
}

TEST_F(DpoTrainerTest, InvalidCombinationNamesTheKey) {
  try {
    DpoHarness h(dir_, {{"loss_type", "exo_pair"}, {"label_smoothing", 0.0}}, data_);
    FAIL() << "expected ConfigError";
  } catch (const trl::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("label_smoothing"), std::string::npos) << e.what();
  }
}

}  // namespace
