// BemaCallback over real (tiny) CausalLMs: the running model holds the BEMA weights, the reference model
// equals them right after each refresh and is untouched between refreshes (spec/trl-reference.md §2.2),
// {output_dir}/bema loads back as a model (§5.12), and the refusals.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "bema_callback.h"
#include "bema_checkpoint.h"
#include "trl/sdk/error.h"
#include "trl/sdk/model/causal_lm.h"
#include "trl/sdk/model/model_config.h"
#include "trl/sdk/tokenizer/tokenizer.h"
#include "trl/sdk/train/loop.h"
#include "trl/sdk/train/training_args.h"

namespace {

namespace fs = std::filesystem;
using trl::bema::BemaCallback;
using trl::bema::BemaCallbackParams;

trl::ModelConfig tiny_config() {
  return trl::ModelConfig::from_json({{"architectures", {"Qwen2ForCausalLM"}},
                                      {"model_type", "qwen2"},
                                      {"vocab_size", 259},
                                      {"hidden_size", 8},
                                      {"intermediate_size", 16},
                                      {"num_hidden_layers", 1},
                                      {"num_attention_heads", 2},
                                      {"num_key_value_heads", 1},
                                      {"tie_word_embeddings", false}},
                                     "tiny config.json");
}

// What the loop hands to callbacks, around a tiny policy, an optional reference and a temp output_dir.
struct Harness {
  explicit Harness(bool with_ref, const std::string& test_name) {
    at::manual_seed(0);
    policy = trl::CausalLM::from_config(tiny_config(), /*seed=*/1);
    if (with_ref) {
      ref = policy->clone();
      ref->set_requires_grad(false);
    }
    tokenizer = trl::Tokenizer::byte_level();
    // Unique per process: several builds of this suite may run at once on one machine.
    args.output_dir = (fs::temp_directory_path() /
                       ("bema_callback_test_" + std::to_string(::getpid()) + "_" + test_name)).string();
    fs::remove_all(args.output_dir);
    cb_args = std::make_unique<trl::CallbackArgs>(trl::CallbackArgs{
        args, state, control, *policy, ref.get(), /*optimizer=*/nullptr, /*lr_scheduler=*/nullptr, *tokenizer});
  }
  ~Harness() { fs::remove_all(args.output_dir); }

  // One "optimizer step": every weight moves by noise seeded by the step alone (so two harnesses given
  // the same steps move alike); then the loop's step-end event.
  void step(BemaCallback& cb, int64_t global_step) {
    {
      at::NoGradGuard no_grad;
      at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(global_step));
      for (const auto& [name, w] : policy->named_parameters()) w.add_(at::randn(w.sizes(), gen) * 0.01);
    }
    state.global_step = global_step;
    cb.on_step_end(*cb_args);
  }

  std::unique_ptr<trl::CausalLM> policy;
  std::unique_ptr<trl::CausalLM> ref;
  std::unique_ptr<trl::Tokenizer> tokenizer;
  trl::TrainingArguments args;
  trl::TrainerState state;
  trl::TrainerControl control;
  std::unique_ptr<trl::CallbackArgs> cb_args;
};

std::vector<at::Tensor> copies(const trl::CausalLM& model) {
  std::vector<at::Tensor> out;
  for (const auto& [name, w] : model.named_parameters()) out.push_back(w.detach().clone());
  return out;
}

bool tensors_equal(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!at::equal(a[i], b[i])) return false;
  return true;
}

bool weights_equal(const trl::CausalLM& model, const std::vector<at::Tensor>& expected) {
  const auto& named = model.named_parameters();
  if (named.size() != expected.size()) return false;
  for (size_t i = 0; i < named.size(); ++i)
    if (!at::equal(named[i].second, expected[i])) return false;
  return true;
}

BemaCallbackParams refresh_params() {
  BemaCallbackParams p;
  p.bema.update_freq = 2;
  p.update_ref_model = true;
  p.ref_model_update_freq = 3;  // deliberately not aligned with update_freq
  return p;
}

}  // namespace

TEST(BemaCallback, RunningModelHoldsBemaWeights) {
  Harness h(/*with_ref=*/false, "running");
  BemaCallbackParams p;
  p.bema.update_freq = 2;
  BemaCallback cb(p);
  cb.on_train_begin(*h.cb_args);
  const std::vector<at::Tensor> initial = copies(*h.policy);
  ASSERT_NE(cb.running_model(), nullptr);
  EXPECT_TRUE(weights_equal(*cb.running_model(), initial));
  h.step(cb, 1);
  EXPECT_TRUE(weights_equal(*cb.running_model(), initial)) << "no update at step 1";
  h.step(cb, 2);
  EXPECT_FALSE(weights_equal(*cb.running_model(), initial));
  EXPECT_TRUE(weights_equal(*cb.running_model(), cb.state().running()));
  EXPECT_EQ(cb.state().update_steps(), (std::vector<int64_t>{2}));
  // The running model is a copy: the policy still trains freely and keeps its gradients on.
  EXPECT_FALSE(weights_equal(*h.policy, cb.state().running()));
  for (const auto& [name, w] : h.policy->named_parameters()) EXPECT_TRUE(w.requires_grad()) << name;
}

TEST(BemaCallback, ReferenceEqualsBemaWeightsRightAfterRefreshAndIsUntouchedBetween) {
  Harness h(/*with_ref=*/true, "refresh");
  BemaCallback cb(refresh_params());
  cb.on_train_begin(*h.cb_args);
  std::vector<at::Tensor> ref_expected = copies(*h.ref);
  for (int64_t step = 1; step <= 9; ++step) {
    h.step(cb, step);
    if (step % 3 == 0) {
      // Refresh: the reference now holds exactly the running model's weights (BEMA state of step 2,
      // 6 and 8 at steps 3, 6 and 9: the schedules are not aligned).
      EXPECT_TRUE(weights_equal(*h.ref, copies(*cb.running_model()))) << "step " << step;
      EXPECT_FALSE(weights_equal(*h.ref, ref_expected)) << "step " << step;
      ref_expected = copies(*h.ref);
    } else {
      EXPECT_TRUE(weights_equal(*h.ref, ref_expected)) << "step " << step << ": reference changed between refreshes";
    }
  }
  EXPECT_EQ(cb.ref_model_update_steps(), (std::vector<int64_t>{3, 6, 9}));
  EXPECT_EQ(cb.state().update_steps(), (std::vector<int64_t>{2, 4, 6, 8}));
  for (const auto& [name, w] : h.ref->named_parameters()) EXPECT_FALSE(w.requires_grad()) << name;
}

TEST(BemaCallback, RefreshBeforeFirstUpdateGivesInitialWeights) {
  Harness h(/*with_ref=*/true, "early_refresh");
  BemaCallbackParams p;
  p.bema.update_freq = 5;
  p.update_ref_model = true;
  p.ref_model_update_freq = 1;
  BemaCallback cb(p);
  const std::vector<at::Tensor> initial = copies(*h.policy);
  {
    at::NoGradGuard no_grad;  // make the reference differ from the policy's starting weights
    for (const auto& [name, w] : h.ref->named_parameters()) w.fill_(0.5);
  }
  cb.on_train_begin(*h.cb_args);
  h.step(cb, 1);
  EXPECT_TRUE(weights_equal(*h.ref, initial));
}

TEST(BemaCallback, SavesLoadableModelDirAtTrainEnd) {
  Harness h(/*with_ref=*/false, "save");
  BemaCallbackParams p;
  p.bema.update_freq = 2;
  p.bema.bias_power = 0.0;  // spec §5.12: must run
  p.bema.ema_power = 0.0;
  BemaCallback cb(p);
  cb.on_train_begin(*h.cb_args);
  for (int64_t step = 1; step <= 4; ++step) h.step(cb, step);
  cb.on_train_end(*h.cb_args);
  const std::string dir = h.args.output_dir + "/bema";
  ASSERT_TRUE(fs::is_regular_file(dir + "/config.json"));
  ASSERT_TRUE(fs::is_regular_file(dir + "/model.safetensors"));
  ASSERT_TRUE(fs::is_regular_file(dir + "/tokenizer.json"));
  const std::unique_ptr<trl::CausalLM> loaded = trl::CausalLM::from_pretrained(dir);
  EXPECT_TRUE(weights_equal(*loaded, copies(*cb.running_model())));
  EXPECT_EQ(trl::Tokenizer::load(dir)->vocab_size(), h.tokenizer->vocab_size());
}

TEST(BemaCallback, RefusesRefModelUpdateWithoutReferenceModel) {
  Harness h(/*with_ref=*/false, "no_ref");
  BemaCallback cb(refresh_params());
  try {
    cb.on_train_begin(*h.cb_args);
    FAIL() << "expected ConfigError";
  } catch (const trl::ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("update_ref_model"), std::string::npos) << what;
    EXPECT_NE(what.find("no separate reference model"), std::string::npos) << what;
    EXPECT_NE(what.find("policy"), std::string::npos) << what;
  }
}

TEST(BemaCallback, RefusesFrozenPolicyParameters) {
  Harness h(/*with_ref=*/false, "frozen");
  h.policy->set_requires_grad(false);
  BemaCallback cb(BemaCallbackParams{});
  try {
    cb.on_train_begin(*h.cb_args);
    FAIL() << "expected ConfigError";
  } catch (const trl::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("model.embed_tokens.weight"), std::string::npos) << e.what();
  }
}

// Checkpoints carry bema_state.safetensors; a run resumed from one continues the same average and gets its
// refreshed reference back, exactly (a deliberate addition to TRL, docs/bema.md).
TEST(BemaCallback, ResumeRestoresBuffersAndReferenceFromCheckpoint) {
  Harness a(/*with_ref=*/true, "resume_a");
  BemaCallback cb_a(refresh_params());
  cb_a.on_train_begin(*a.cb_args);
  for (int64_t step = 1; step <= 4; ++step) a.step(cb_a, step);  // refresh at 3, updates at 2 and 4
  const std::string checkpoint = a.args.output_dir + "/checkpoint-4";
  fs::create_directories(checkpoint);
  cb_a.on_save(*a.cb_args, checkpoint);
  ASSERT_TRUE(fs::is_regular_file(checkpoint + "/" + trl::bema::kBemaStateFile));

  // The resumed run: the policy as saved at step 4, a reference rebuilt from the initial policy (as the
  // trainer's prepare() does), and the loop's resume state.
  Harness b(/*with_ref=*/true, "resume_b");
  b.policy->copy_weights_from(*a.policy);
  b.state.global_step = 4;
  b.args.resume_from_checkpoint = checkpoint;
  BemaCallback cb_b(refresh_params());
  cb_b.on_train_begin(*b.cb_args);
  EXPECT_TRUE(tensors_equal(cb_b.state().theta0(), cb_a.state().theta0()));
  EXPECT_TRUE(tensors_equal(cb_b.state().ema(), cb_a.state().ema()));
  EXPECT_TRUE(weights_equal(*cb_b.running_model(), cb_a.state().running()));
  EXPECT_TRUE(weights_equal(*b.ref, copies(*a.ref)));

  for (int64_t step = 5; step <= 7; ++step) {
    a.step(cb_a, step);
    b.step(cb_b, step);
  }
  EXPECT_TRUE(weights_equal(*cb_b.running_model(), copies(*cb_a.running_model())));
  EXPECT_TRUE(weights_equal(*b.ref, copies(*a.ref)));
  EXPECT_EQ(cb_b.ref_model_update_steps(), (std::vector<int64_t>{6}));
}

TEST(BemaCallback, ResumeWithoutStateFileRestartsFromResumedWeights) {
  Harness h(/*with_ref=*/false, "resume_plain");
  const std::string checkpoint = h.args.output_dir + "/checkpoint-5";
  fs::create_directories(checkpoint);
  h.state.global_step = 5;
  h.args.resume_from_checkpoint = "last";
  BemaCallback cb(BemaCallbackParams{});
  cb.on_train_begin(*h.cb_args);
  EXPECT_TRUE(tensors_equal(cb.state().theta0(), copies(*h.policy)));  // TRL's behaviour
}

TEST(BemaCallback, ResumeRefusesStateFromAnotherStep) {
  Harness h(/*with_ref=*/false, "resume_wrong_step");
  BemaCallback first(BemaCallbackParams{});
  first.on_train_begin(*h.cb_args);
  const std::string checkpoint = h.args.output_dir + "/checkpoint-3";
  fs::create_directories(checkpoint);
  h.state.global_step = 2;  // the file says 2, the checkpoint folder will be resumed at 3
  first.on_save(*h.cb_args, checkpoint);
  h.state.global_step = 3;
  h.args.resume_from_checkpoint = checkpoint;
  BemaCallback resumed(BemaCallbackParams{});
  try {
    resumed.on_train_begin(*h.cb_args);
    FAIL() << "expected CheckpointError";
  } catch (const trl::CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("saved at step 2, but the run resumes at step 3"), std::string::npos)
        << e.what();
  }
}
