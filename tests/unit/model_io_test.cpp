// CausalLM from and to a Hugging Face folder: bit-exact round trip, sharded checkpoints, dtype conversion
// on load, and refusals naming the file and tensor (missing, unexpected, wrong shape).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <fstream>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "model_test_support.h"
#include "trl/sdk/error.h"
#include "trl/sdk/model/causal_lm.h"
#include "trl/sdk/model/safetensors.h"

namespace {

namespace fs = std::filesystem;
using trl::CausalLM;
using trl::testing_support::ScratchDir;
using trl::testing_support::long_matrix;
using trl::testing_support::tiny_model_config;
using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

/// The ModelError message of loading `dir`, or "" when it loads.
std::string load_error(const std::string& dir) {
  try {
    CausalLM::from_pretrained(dir);
  } catch (const trl::ModelError& e) {
    return e.what();
  }
  return "";
}

/// A saved tiny model whose model.safetensors is then rewritten by `edit`.
void save_with_edited_tensors(const ScratchDir& dir, const std::function<void(NamedTensors&)>& edit,
                              const std::string& model_type = "qwen2") {
  auto model = CausalLM::from_config(tiny_model_config(model_type), 5);
  model->save_pretrained(dir.path());
  NamedTensors tensors = trl::load_safetensors(dir.path("model.safetensors"));
  edit(tensors);
  trl::save_safetensors(dir.path("model.safetensors"), tensors);
}

TEST(ModelIo, RoundTripIsBitExactWithSameLogits) {
  at::set_num_threads(1);
  ScratchDir dir("model-io");
  for (const char* type : {"qwen2", "llama", "qwen3", "mistral"}) {
    auto model = CausalLM::from_config(tiny_model_config(type), 9);
    const std::string folder = dir.path(type);
    model->save_pretrained(folder);
    for (const char* file : {"config.json", "model.safetensors", "generation_config.json"})
      EXPECT_TRUE(fs::exists(folder + "/" + file)) << file;
    auto loaded = CausalLM::from_pretrained(folder);
    ASSERT_EQ(loaded->named_parameters().size(), model->named_parameters().size());
    for (size_t i = 0; i < model->named_parameters().size(); ++i) {
      EXPECT_EQ(loaded->named_parameters()[i].first, model->named_parameters()[i].first);
      EXPECT_TRUE(at::equal(loaded->named_parameters()[i].second, model->named_parameters()[i].second))
          << type << " " << model->named_parameters()[i].first;
    }
    const at::Tensor ids = long_matrix({{1, 5, 9, 13, 2}});
    EXPECT_TRUE(at::equal(loaded->logits(loaded->hidden_states(ids)), model->logits(model->hidden_states(ids)))) << type;
    EXPECT_EQ(loaded->config().to_json(), [&] {
      trl::ModelConfig c = model->config();
      return c.to_json();
    }()) << type;
  }
}

TEST(ModelIo, TiedModelOmitsLmHeadAndWritesHfConfig) {
  ScratchDir dir("model-io");
  auto model = CausalLM::from_config(tiny_model_config("qwen2", {{"tie_word_embeddings", true}}), 9);
  model->save_pretrained(dir.path());
  const trl::SafetensorsFile file(dir.path("model.safetensors"));
  EXPECT_FALSE(file.contains("lm_head.weight"));
  EXPECT_TRUE(file.contains("model.layers.1.self_attn.q_proj.bias"));
  EXPECT_EQ(file.metadata().at("format"), "pt");
  std::ifstream in(dir.path("config.json"));
  const nlohmann::json config = nlohmann::json::parse(in);
  EXPECT_EQ(config["architectures"][0], "Qwen2ForCausalLM");
  EXPECT_EQ(config["torch_dtype"], "float32");
  EXPECT_EQ(config["tie_word_embeddings"], true);
  std::ifstream gin(dir.path("generation_config.json"));
  EXPECT_EQ(nlohmann::json::parse(gin)["eos_token_id"], 2);
}

TEST(ModelIo, LoadsBfloat16WeightsIntoFloat32AndBack) {
  ScratchDir dir("model-io");
  trl::ModelOptions bf16;
  bf16.dtype = at::kBFloat16;
  auto model = CausalLM::from_config(tiny_model_config("qwen3"), 4, bf16);
  model->save_pretrained(dir.path());
  EXPECT_EQ(trl::SafetensorsFile(dir.path("model.safetensors")).entry("model.norm.weight").dtype, "BF16");
  auto as_float = CausalLM::from_pretrained(dir.path());
  EXPECT_EQ(as_float->dtype(), at::kFloat);
  for (size_t i = 0; i < model->named_parameters().size(); ++i)
    EXPECT_TRUE(at::equal(as_float->named_parameters()[i].second, model->named_parameters()[i].second.to(at::kFloat)));
}

TEST(ModelIo, LoadsShardedCheckpoint) {
  ScratchDir dir("model-io");
  auto model = CausalLM::from_config(tiny_model_config("llama"), 4);
  model->save_pretrained(dir.path());
  // Split into two shards with an index, as transformers writes large models.
  const NamedTensors all = trl::load_safetensors(dir.path("model.safetensors"));
  NamedTensors first(all.begin(), all.begin() + 5), second(all.begin() + 5, all.end());
  trl::save_safetensors(dir.path("model-00001-of-00002.safetensors"), first);
  trl::save_safetensors(dir.path("model-00002-of-00002.safetensors"), second);
  nlohmann::json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", nlohmann::json::object()}};
  for (const auto& [name, t] : first) index["weight_map"][name] = "model-00001-of-00002.safetensors";
  for (const auto& [name, t] : second) index["weight_map"][name] = "model-00002-of-00002.safetensors";
  std::ofstream(dir.path("model.safetensors.index.json")) << index.dump();
  fs::remove(dir.path("model.safetensors"));
  auto loaded = CausalLM::from_pretrained(dir.path());
  for (size_t i = 0; i < model->named_parameters().size(); ++i)
    EXPECT_TRUE(at::equal(loaded->named_parameters()[i].second, model->named_parameters()[i].second));

  // Saving over the sharded folder drops the index, so the next load reads the new single file.
  loaded->save_pretrained(dir.path());
  EXPECT_FALSE(fs::exists(dir.path("model.safetensors.index.json")));
  EXPECT_NO_THROW(CausalLM::from_pretrained(dir.path()));
}

TEST(ModelIo, ShardIndexMissingATensorNamesIt) {
  ScratchDir dir("model-io");
  auto model = CausalLM::from_config(tiny_model_config("llama"), 4);
  model->save_pretrained(dir.path());
  fs::rename(dir.path("model.safetensors"), dir.path("shard.safetensors"));
  nlohmann::json index = {{"weight_map", {{"model.embed_tokens.weight", "shard.safetensors"}}}};
  std::ofstream(dir.path("model.safetensors.index.json")) << index.dump();
  const std::string message = load_error(dir.path());
  EXPECT_NE(message.find("model.safetensors.index.json"), std::string::npos) << message;
  EXPECT_NE(message.find("missing tensor 'model.layers.0.self_attn.q_proj.weight'"), std::string::npos) << message;
}

TEST(ModelIo, MissingTensorNamesFileAndTensor) {
  ScratchDir dir("model-io");
  save_with_edited_tensors(dir, [](NamedTensors& t) {
    t.erase(std::remove_if(t.begin(), t.end(), [](const auto& p) { return p.first == "model.layers.1.mlp.up_proj.weight"; }),
            t.end());
  });
  const std::string message = load_error(dir.path());
  EXPECT_NE(message.find(dir.path("model.safetensors")), std::string::npos) << message;
  EXPECT_NE(message.find("missing tensor 'model.layers.1.mlp.up_proj.weight'"), std::string::npos) << message;
}

TEST(ModelIo, UnexpectedTensorIsRefused) {
  ScratchDir dir("model-io");
  save_with_edited_tensors(dir, [](NamedTensors& t) { t.emplace_back("model.layers.2.mlp.up_proj.weight", at::zeros({2})); });
  const std::string message = load_error(dir.path());
  EXPECT_NE(message.find("unexpected tensor 'model.layers.2.mlp.up_proj.weight'"), std::string::npos) << message;
}

TEST(ModelIo, WrongShapeNamesBothShapes) {
  ScratchDir dir("model-io");
  save_with_edited_tensors(dir, [](NamedTensors& t) {
    for (auto& [name, tensor] : t)
      if (name == "model.layers.0.self_attn.k_proj.weight") tensor = at::zeros({32, 32});
  });
  const std::string message = load_error(dir.path());
  EXPECT_NE(message.find("tensor 'model.layers.0.self_attn.k_proj.weight': expected shape [16, 32]"), std::string::npos)
      << message;
  EXPECT_NE(message.find("found [32, 32]"), std::string::npos) << message;
}

TEST(ModelIo, IntegerWeightIsRefused) {
  ScratchDir dir("model-io");
  save_with_edited_tensors(dir, [](NamedTensors& t) {
    for (auto& [name, tensor] : t)
      if (name == "model.norm.weight") tensor = at::ones({32}, at::kLong);
  });
  EXPECT_NE(load_error(dir.path()).find("tensor 'model.norm.weight': expected a floating dtype"), std::string::npos);
}

TEST(ModelIo, IgnoresTiedHeadAndLegacyRotaryBuffers) {
  ScratchDir dir("model-io");
  auto model = CausalLM::from_config(tiny_model_config("qwen2", {{"tie_word_embeddings", true}}), 5);
  model->save_pretrained(dir.path());
  NamedTensors tensors = trl::load_safetensors(dir.path("model.safetensors"));
  tensors.emplace_back("lm_head.weight", tensors.front().second.clone());
  tensors.emplace_back("model.layers.0.self_attn.rotary_emb.inv_freq", at::ones({4}));
  trl::save_safetensors(dir.path("model.safetensors"), tensors);
  EXPECT_EQ(load_error(dir.path()), "");
}

TEST(ModelIo, MissingWeightsFileIsNamed) {
  ScratchDir dir("model-io");
  CausalLM::from_config(tiny_model_config(), 5)->save_pretrained(dir.path());
  fs::remove(dir.path("model.safetensors"));
  EXPECT_NE(load_error(dir.path()).find("no model.safetensors or model.safetensors.index.json"), std::string::npos);
}

TEST(ModelIo, GenerationConfigIsKept) {
  ScratchDir dir("model-io");
  auto model = CausalLM::from_config(tiny_model_config(), 5);
  model->set_generation_config({{"temperature", 0.6}, {"top_p", 0.95}, {"eos_token_id", {2, 3}}});
  model->save_pretrained(dir.path());
  auto loaded = CausalLM::from_pretrained(dir.path());
  EXPECT_EQ(loaded->generation_config()["temperature"], 0.6);
  EXPECT_EQ(loaded->generation_config()["eos_token_id"], nlohmann::json({2, 3}));
}

}  // namespace
