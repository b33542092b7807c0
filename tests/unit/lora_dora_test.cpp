// LoRA options beyond the plain adapter (trl/sdk/model/lora.h): trained biases (PEFT's bias "all" /
// "lora_only"), DoRA (use_dora) against an independent transcription of PEFT's formulas
// (tests/golden/make_lora_dora_golden.py), and init_lora_weights false / "gaussian".
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

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

namespace {
namespace fs = std::filesystem;
using trl::testing_support::json_tensor;
using trl::testing_support::ScratchDir;
using trl::testing_support::tiny_model_config;

std::string config_error_of(const nlohmann::json& block) {
  try {
    trl::lora_config_from_json(block, "run.json: peft");
  } catch (const trl::ConfigError& e) {
    return e.what();
  }
  return "(no ConfigError)";
}

// Final hidden states of fixed ids (B 2, T 5); gradient mode as the caller has it.
at::Tensor hidden_with_grad_mode(const trl::CausalLM& model) {
  const at::Tensor ids = at::arange(10, at::kLong).remainder(64).reshape({2, 5});
  return model.hidden_states(ids).detach();
}

at::Tensor hidden_of(const trl::CausalLM& model) {
  at::NoGradGuard no_grad;
  return hidden_with_grad_mode(model);
}

// Moves every trainable tensor (A, B, magnitude, trained biases) by normal(0, 0.2): a "trained" adapter.
void perturb_trainables(const trl::CausalLM& model, uint64_t seed) {
  at::NoGradGuard no_grad;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (const auto& [name, t] : trl::trainable_named_parameters(model))
    t.add_(at::empty(t.sizes(), t.options()).normal_(0.0, 0.2, gen));
}

std::vector<std::string> names_of(const std::vector<std::pair<std::string, at::Tensor>>& named) {
  std::vector<std::string> out;
  for (const auto& [name, t] : named) out.push_back(name);
  return out;
}

const std::string kLayer0 = "base_model.model.model.layers.0.self_attn.";

// ---- config ------------------------------------------------------------------------------------------

TEST(LoraConfigOptions, AcceptsPeftBiasModesDoraAndInits) {
  EXPECT_EQ(trl::lora_config_from_json({{"bias", "all"}}, "peft").bias, "all");
  EXPECT_EQ(trl::lora_config_from_json({{"bias", "lora_only"}}, "peft").bias, "lora_only");
  EXPECT_TRUE(trl::lora_config_from_json({{"use_dora", true}}, "peft").use_dora);
  EXPECT_FALSE(trl::lora_config_from_json(nlohmann::json::object(), "peft").use_dora);
  EXPECT_EQ(trl::lora_config_from_json({{"init_lora_weights", "gaussian"}}, "peft").init_lora_weights, "gaussian");
  EXPECT_EQ(trl::lora_config_from_json({{"init_lora_weights", false}}, "peft").init_lora_weights, false);
  const nlohmann::json saved = trl::adapter_config_json(
      trl::lora_config_from_json({{"use_dora", true}, {"bias", "lora_only"}}, "peft"));
  EXPECT_EQ(saved["use_dora"], true);
  EXPECT_EQ(saved["bias"], "lora_only");
}

TEST(LoraConfigOptions, RefusesOtherInitsAndBiasModesNamingTheKey) {
  for (const char* init : {"pissa", "olora", "loftq", "eva"}) {
    const std::string msg = config_error_of({{"init_lora_weights", init}});
    EXPECT_NE(msg.find("run.json: peft"), std::string::npos) << msg;
    EXPECT_NE(msg.find("init_lora_weights"), std::string::npos) << msg;
    EXPECT_NE(msg.find("not implemented"), std::string::npos) << msg;
  }
  const std::string msg = config_error_of({{"bias", "lora"}});
  EXPECT_NE(msg.find("bias"), std::string::npos) << msg;
  EXPECT_NE(msg.find("lora_only"), std::string::npos) << msg;  // the allowed values are listed
  EXPECT_NE(config_error_of({{"lora_bias", true}}).find("lora_bias"), std::string::npos);
}

// ---- init_lora_weights --------------------------------------------------------------------------------

// PEFT LoraLayer.reset_lora_parameters: "gaussian" draws A from normal(0, 1/r) and zeros B; false keeps
// nn.Linear's init of both (kaiming_uniform a=sqrt(5): U(-1/sqrt(fan_in), 1/sqrt(fan_in))).
TEST(LoraInit, GaussianAndFalseFollowPeft) {
  auto model = trl::CausalLM::from_config(tiny_model_config(), 3);
  trl::add_lora_adapters(*model,
                         trl::lora_config_from_json({{"r", 4}, {"target_modules", "all-linear"},
                                                     {"init_lora_weights", "gaussian"}}, "peft"), 2);
  std::vector<at::Tensor> As;
  for (const auto& [name, t] : trl::lora_named_parameters(*model)) {
    if (name.find("lora_B") != std::string::npos) {
      EXPECT_EQ(t.abs().sum().item<double>(), 0.0) << name;
    } else {
      As.push_back(t.detach().flatten());
    }
  }
  const at::Tensor a = at::cat(As);  // 2 layers x 7 x (4 x 32 or 4 x 48): ~3900 draws
  EXPECT_NEAR(a.std().item<double>(), 0.25, 0.02);  // 1 / r
  EXPECT_NEAR(a.mean().item<double>(), 0.0, 0.02);
  EXPECT_GT(a.abs().max().item<double>(), 0.5);     // a normal, not U(-1/sqrt(32), 1/sqrt(32))

  auto random = trl::CausalLM::from_config(tiny_model_config(), 3);
  const at::Tensor base = hidden_of(*random);
  trl::add_lora_adapters(*random, trl::lora_config_from_json({{"r", 4}, {"init_lora_weights", false}}, "peft"), 2);
  for (const auto& [name, t] : trl::lora_named_parameters(*random)) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(t.size(1)));  // fan_in: in for A, r for B
    EXPECT_LE(t.abs().max().item<double>(), bound) << name;
    EXPECT_GT(t.abs().max().item<double>(), 0.5 * bound) << name;
  }
  EXPECT_FALSE(at::allclose(hidden_of(*random), base));  // not an identity start
}

// ---- trained biases (PEFT's bias "all" / "lora_only") ----------------------------------------------------

// Which biases train and their saved names follow PEFT's _mark_only_adapters_as_trainable and
// _get_learnable_bias_state_dict: an adapted projection's bias lives under its base_layer.
TEST(LoraBias, TrainsThePeftSelectionUnderPeftNames) {
  const nlohmann::json targets = {"q_proj", "v_proj"};
  auto all = trl::CausalLM::from_config(tiny_model_config(), 3);  // qwen2: q, k, v biases
  trl::add_lora_adapters(*all, trl::lora_config_from_json({{"r", 2}, {"target_modules", targets}, {"bias", "all"}}, "peft"),
                         1);
  std::set<std::string> trained;
  for (const std::string& name : names_of(trl::trainable_named_parameters(*all)))
    if (name.find("bias") != std::string::npos) trained.insert(name);
  EXPECT_EQ(trained, (std::set<std::string>{kLayer0 + "q_proj.base_layer.bias", kLayer0 + "k_proj.bias",
                                            kLayer0 + "v_proj.base_layer.bias",
                                            "base_model.model.model.layers.1.self_attn.q_proj.base_layer.bias",
                                            "base_model.model.model.layers.1.self_attn.k_proj.bias",
                                            "base_model.model.model.layers.1.self_attn.v_proj.base_layer.bias"}));
  for (const auto& [name, t] : all->named_parameters())
    EXPECT_EQ(t.requires_grad(), name.find(".bias") != std::string::npos) << name;
  EXPECT_EQ(trl::lora_named_parameters(*all).size(), 8u);  // the adapters alone: 2 layers x 2 x (A, B)

  auto only = trl::CausalLM::from_config(tiny_model_config(), 3);
  trl::add_lora_adapters(
      *only, trl::lora_config_from_json({{"r", 2}, {"target_modules", targets}, {"bias", "lora_only"}}, "peft"), 1);
  size_t biases = 0;
  for (const std::string& name : names_of(trl::trainable_named_parameters(*only))) {
    if (name.find("bias") == std::string::npos) continue;
    ++biases;
    EXPECT_NE(name.find("base_layer.bias"), std::string::npos) << name;
    EXPECT_EQ(name.find("k_proj"), std::string::npos) << name;
  }
  EXPECT_EQ(biases, 4u);  // q and v of 2 layers

  auto llama = trl::CausalLM::from_config(tiny_model_config("llama"), 3);  // no biases: nothing more trains
  trl::add_lora_adapters(*llama, trl::lora_config_from_json({{"r", 2}, {"bias", "all"}}, "peft"), 1);
  EXPECT_EQ(trl::trainable_named_parameters(*llama).size(), trl::lora_named_parameters(*llama).size());
}

TEST(LoraBias, OnlyAdaptersAndSelectedBiasesReceiveGradients) {
  auto model = trl::CausalLM::from_config(tiny_model_config(), 3);
  trl::add_lora_adapters(*model, trl::lora_config_from_json({{"r", 2}, {"bias", "lora_only"}}, "peft"), 5);
  perturb_trainables(*model, 9);
  model->hidden_states(at::arange(6, at::kLong).reshape({1, 6})).pow(2).mean().backward();
  for (const auto& [name, t] : model->named_parameters()) {
    const bool trains = name.find("q_proj.bias") != std::string::npos || name.find("v_proj.bias") != std::string::npos;
    EXPECT_EQ(t.grad().defined(), trains) << name;
  }
  for (const auto& [name, t] : trl::trainable_named_parameters(*model)) {
    ASSERT_TRUE(t.grad().defined()) << name;
    EXPECT_GT(t.grad().abs().sum().item<double>(), 0.0) << name;
  }
}

// PEFT's disable_adapter() runs the base layers, which hold the trained biases (PEFT warns that this is
// not the base model): the adapter-off reference is the base weights with the trained biases.
TEST(LoraBias, AdapterOffModelKeepsTheTrainedBiases) {
  at::set_num_threads(1);
  auto model = trl::CausalLM::from_config(tiny_model_config(), 3);
  auto base = model->clone();
  trl::add_lora_adapters(*model, trl::lora_config_from_json({{"r", 2}, {"bias", "all"}}, "peft"), 5);
  perturb_trainables(*model, 9);
  at::Tensor off;
  {
    const trl::LoraAdaptersDisabled disabled(*model);
    off = hidden_of(*model);
  }
  EXPECT_FALSE(at::allclose(off, hidden_of(*base)));
  base->copy_weights_from(*model);  // the base weights with the trained biases, no adapters
  EXPECT_TRUE(at::equal(off, hidden_of(*base)));
}

TEST(LoraBias, SavedWithTheAdapterAndLoadedBack) {
  at::set_num_threads(1);
  const ScratchDir dir("lora-bias");
  auto model = trl::CausalLM::from_config(tiny_model_config(), 3);
  auto fresh = model->clone();
  trl::add_lora_adapters(*model, trl::lora_config_from_json({{"r", 2}, {"bias", "all"}, {"use_dora", true}}, "peft"), 5);
  perturb_trainables(*model, 9);
  trl::save_lora_adapter(*model, dir.path());
  const trl::SafetensorsFile file(dir.path("adapter_model.safetensors"));
  // 2 layers x (q, v) x (A, B, magnitude) + 2 layers x (q, k, v) biases
  EXPECT_EQ(file.entries().size(), 2u * 2u * 3u + 2u * 3u);
  EXPECT_TRUE(file.contains(kLayer0 + "q_proj.base_layer.bias"));
  EXPECT_TRUE(file.contains(kLayer0 + "k_proj.bias"));
  EXPECT_TRUE(file.contains(kLayer0 + "v_proj.lora_magnitude_vector"));
  EXPECT_EQ(file.entry(kLayer0 + "q_proj.lora_magnitude_vector").shape, (std::vector<int64_t>{32}));  // (out)

  trl::load_lora_adapter(*fresh, dir.path());
  EXPECT_TRUE(trl::lora_config(*fresh).use_dora);
  EXPECT_TRUE(at::equal(hidden_of(*fresh), hidden_of(*model)));
  const trl::LoraAdaptersDisabled off_fresh(*fresh), off_model(*model);
  EXPECT_TRUE(at::equal(hidden_of(*fresh), hidden_of(*model)));  // the biases came back too
}

TEST(LoraBias, LoadAcceptsOldPeftNamesAndRefusesBiasesWithBiasNone) {
  at::set_num_threads(1);
  const ScratchDir dir("lora-bias-old");
  auto model = trl::CausalLM::from_config(tiny_model_config(), 3);
  auto fresh = model->clone();
  trl::add_lora_adapters(*model, trl::lora_config_from_json({{"r", 2}, {"bias", "lora_only"}}, "peft"), 5);
  perturb_trainables(*model, 9);
  trl::save_lora_adapter(*model, dir.path());
  // Rewrite the file with PEFT < 0.7's names ("q_proj.bias" for an adapted projection).
  std::vector<std::pair<std::string, at::Tensor>> renamed;
  for (const auto& [name, t] : trl::trainable_named_parameters(*model)) {
    std::string saved = name;
    const size_t at = saved.find(".base_layer.bias");
    if (at != std::string::npos) saved = saved.substr(0, at) + ".bias";
    renamed.emplace_back(saved, t.detach());
  }
  trl::save_safetensors(dir.path("adapter_model.safetensors"), renamed, {{"format", "pt"}});
  trl::load_lora_adapter(*fresh, dir.path());
  EXPECT_TRUE(at::equal(hidden_of(*fresh), hidden_of(*model)));

  // The same file under bias "none": the biases are unexpected tensors.
  nlohmann::json j;
  {
    std::ifstream in(dir.path("adapter_config.json"));
    j = nlohmann::json::parse(in);
  }
  j["bias"] = "none";
  std::ofstream(dir.path("adapter_config.json")) << j.dump();
  auto other = trl::CausalLM::from_config(tiny_model_config(), 3);
  try {
    trl::load_lora_adapter(*other, dir.path());
    FAIL() << "expected a ModelError";
  } catch (const trl::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("q_proj.bias"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("bias is \"none\""), std::string::npos) << e.what();
  }
}

// ---- DoRA ----------------------------------------------------------------------------------------------

TEST(LoraDora, FreshAdapterIsTheBaseModelAndMagnitudeIsTheRowNorm) {
  at::set_num_threads(1);
  auto model = trl::CausalLM::from_config(tiny_model_config(), 3);
  const at::Tensor before = hidden_of(*model);
  const at::Tensor q_weight = model->named_parameters()[1].second.detach().clone();  // layers.0 q_proj (32, 32)
  ASSERT_EQ(model->named_parameters()[1].first, "model.layers.0.self_attn.q_proj.weight");
  trl::add_lora_adapters(*model, trl::lora_config_from_json({{"r", 4}, {"use_dora", true}}, "peft"), 11);
  EXPECT_TRUE(at::allclose(hidden_of(*model), before, 1e-6, 1e-6));
  const auto& named = trl::lora_named_parameters(*model);
  ASSERT_EQ(named.size(), 2u * 2u * 3u);  // 2 layers x (q, v) x (A, B, magnitude)
  EXPECT_EQ(named[2].first, kLayer0 + "q_proj.lora_magnitude_vector");
  EXPECT_TRUE(named[2].second.requires_grad());
  // PEFT's DoRA init: the magnitude is ||W + scaling B A|| per output row, B = 0 here.
  EXPECT_TRUE(at::allclose(named[2].second.detach(), q_weight.norm(2, /*dim=*/1), 1e-6, 1e-6));
}

// PEFT's DoraLinearVariant.forward with dropout active: the base part is recomputed from the dropped input.
// With (nearly) every input dropped, a DoRA projection outputs exactly its base output; taking the base part
// from the undropped output instead would leave (m / ||W + s·BA|| - 1) · W x.
TEST(LoraDora, DropoutRecomputesTheBasePartFromTheDroppedInput) {
  at::set_num_threads(1);
  auto model = trl::CausalLM::from_config(tiny_model_config(), 3);
  auto base = model->clone();
  trl::add_lora_adapters(
      *model, trl::lora_config_from_json({{"r", 4}, {"use_dora", true}, {"lora_dropout", 0.99999999}}, "peft"), 11);
  perturb_trainables(*model, 4);
  at::manual_seed(0);  // p = 1 - 1e-8 over ~2000 inputs: every element is dropped at this seed
  const at::Tensor training = hidden_with_grad_mode(*model);  // grad mode on: dropout applies
  EXPECT_TRUE(at::allclose(training, hidden_of(*base), 1e-6, 1e-6));
  EXPECT_FALSE(at::allclose(hidden_of(*model), hidden_of(*base), 1e-3, 1e-3));  // no dropout: DoRA acts
}

// ---- against the PEFT transcription (tests/golden/make_lora_dora_golden.py) ---------------------------------

const nlohmann::json& dora_golden() {
  static const nlohmann::json golden = [] {
    std::ifstream in(std::string(TRL_TEST_DATA_DIR) + "/golden/lora_dora_golden.json");
    return nlohmann::json::parse(in);
  }();
  return golden;
}

std::string golden_dir(const std::string& name) { return std::string(TRL_TEST_DATA_DIR) + "/golden/" + name; }

at::Tensor real_tokens() { return json_tensor(dora_golden()["attention_mask"], at::kLong).to(at::kBool); }

// Logits at the golden inputs' real tokens (N real tokens, V), with the caller's gradient mode.
at::Tensor golden_logits(const trl::CausalLM& model) {
  const at::Tensor ids = json_tensor(dora_golden()["input_ids"], at::kLong);
  const at::Tensor mask = json_tensor(dora_golden()["attention_mask"], at::kLong);
  return model.logits(model.hidden_states(ids, mask)).index({real_tokens()});
}

at::Tensor expected(const std::string& key) {
  return json_tensor(dora_golden()[key], at::kFloat).index({real_tokens()});
}

std::unique_ptr<trl::CausalLM> golden_model() {
  auto model = trl::CausalLM::from_pretrained(golden_dir("model/qwen2"));
  trl::load_lora_adapter(*model, golden_dir("lora/qwen2_dora"));
  return model;
}

#define EXPECT_CLOSE(ours, theirs, rtol, atol) \
  EXPECT_TRUE(at::allclose(ours, theirs, rtol, atol)) << "max |diff| " << ((ours) - (theirs)).abs().max().item<float>()

// Reference: PEFT DoRA + bias "all" on the qwen2 golden model, float32, seed 20251126: tol 1e-4 + 1e-4·|x|.
TEST(LoraDoraGolden, AdapterLogitsMatchPeft) {
  at::set_num_threads(1);
  auto model = golden_model();
  EXPECT_TRUE(trl::lora_config(*model).use_dora);
  EXPECT_EQ(trl::lora_config(*model).bias, "all");
  c10::InferenceMode guard;
  EXPECT_CLOSE(golden_logits(*model), expected("logits"), 1e-4, 1e-4);
}

TEST(LoraDoraGolden, AdapterOffLogitsAreTheBaseWithTrainedBiases) {
  at::set_num_threads(1);
  auto model = golden_model();
  const trl::LoraAdaptersDisabled off(*model);
  c10::InferenceMode guard;
  EXPECT_CLOSE(golden_logits(*model), expected("disabled_logits"), 1e-4, 1e-4);
}

// Merged = on-the-fly adapter within 1e-5 (the bound), and PEFT's merge within the golden tolerance.
TEST(LoraDoraGolden, MergedModelMatchesAdapterAndPeftMerge) {
  at::set_num_threads(1);
  auto model = golden_model();
  at::Tensor adapted;
  {
    c10::InferenceMode guard;
    adapted = golden_logits(*model);
  }
  trl::merge_lora_adapters(*model);
  EXPECT_FALSE(trl::has_lora_adapters(*model));
  c10::InferenceMode guard;
  const at::Tensor merged = golden_logits(*model);
  EXPECT_CLOSE(merged, adapted, 1e-5, 1e-5);
  EXPECT_CLOSE(merged, expected("merged_logits"), 1e-4, 1e-4);
}

// The weight norm is detached (DoRA paper §4.3, PEFT): gradients of A, B, the magnitude and a trained bias
// for loss = mean over real tokens of sum_v logits^2; tol 1e-4 + 1e-3·|x|.
TEST(LoraDoraGolden, GradientsMatchPeftWithTheNormDetached) {
  at::set_num_threads(1);
  auto model = golden_model();
  trl::disable_lora_dropout(*model);  // PEFT's reference ran in eval mode
  const at::Tensor loss = golden_logits(*model).pow(2).sum(-1).mean();
  EXPECT_NEAR(loss.item<double>(), dora_golden()["loss"].get<double>(), 1e-4 * dora_golden()["loss"].get<double>());
  loss.backward();
  const auto trainable = trl::trainable_named_parameters(*model);
  for (const auto& [name, values] : dora_golden()["grads"].items()) {
    const auto it = std::find_if(trainable.begin(), trainable.end(), [&](const auto& p) { return p.first == name; });
    ASSERT_NE(it, trainable.end()) << name << " is not trainable";
    ASSERT_TRUE(it->second.grad().defined()) << name;
    EXPECT_CLOSE(it->second.grad(), json_tensor(values, at::kFloat), 1e-3, 1e-4) << " for " << name;
  }
}

}  // namespace
