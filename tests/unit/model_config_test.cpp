// ModelConfig: transformers' per-family defaults, refusals that name the key, the JSON round trip and the
// parameter count.
#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "model_test_support.h"
#include "trl/sdk/error.h"
#include "trl/sdk/model/causal_lm.h"
#include "trl/sdk/model/model_config.h"

namespace {

using json = nlohmann::json;
using trl::ModelConfig;

/// The ModelError message of parsing `j`, or "" when it parses.
std::string parse_error(const json& j) {
  try {
    ModelConfig::from_json(j, "dir/config.json");
  } catch (const trl::ModelError& e) {
    return e.what();
  }
  return "";
}

json qwen2_json() {
  return {{"architectures", {"Qwen2ForCausalLM"}}, {"model_type", "qwen2"}, {"vocab_size", 64},
          {"hidden_size", 32}, {"intermediate_size", 48}, {"num_hidden_layers", 2}, {"num_attention_heads", 4},
          {"num_key_value_heads", 2}};
}

// Defaults transcribed from transformers' Qwen2Config / LlamaConfig / MistralConfig / Qwen3Config.
TEST(ModelConfig, Qwen2DefaultsAsTransformers) {
  const ModelConfig c = ModelConfig::from_json(json{{"model_type", "qwen2"}}, "config.json");
  EXPECT_EQ(c.architecture, "Qwen2ForCausalLM");
  EXPECT_EQ(c.vocab_size, 151936);
  EXPECT_EQ(c.hidden_size, 4096);
  EXPECT_EQ(c.intermediate_size, 22016);
  EXPECT_EQ(c.num_key_value_heads, 32);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.max_position_embeddings, 32768);
  EXPECT_TRUE(c.attention_bias);
  EXPECT_FALSE(c.attention_out_bias);
  EXPECT_FALSE(c.qk_norm);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_FALSE(c.sliding_window.has_value());  // use_sliding_window defaults to false
  EXPECT_DOUBLE_EQ(c.rope_theta, 10000.0);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-6);
}

TEST(ModelConfig, LlamaKeyValueHeadsDefaultToQueryHeads) {
  const ModelConfig c = ModelConfig::from_json(
      json{{"architectures", {"LlamaForCausalLM"}}, {"hidden_size", 64}, {"num_attention_heads", 8}}, "config.json");
  EXPECT_EQ(c.model_type, "llama");
  EXPECT_EQ(c.num_key_value_heads, 8);
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_EQ(c.max_position_embeddings, 2048);
  ASSERT_TRUE(c.bos_token_id.has_value());
  EXPECT_EQ(*c.bos_token_id, 1);
  EXPECT_EQ(c.eos_token_ids, std::vector<int64_t>{2});
}

TEST(ModelConfig, NullKeyValueHeadsMeansQueryHeads) {
  json j = qwen2_json();
  j["num_key_value_heads"] = nullptr;
  EXPECT_EQ(ModelConfig::from_json(j, "config.json").num_key_value_heads, 4);
}

TEST(ModelConfig, MistralDefaultsToEightKeyValueHeadsAndWindow) {
  const ModelConfig c = ModelConfig::from_json(json{{"model_type", "mistral"}}, "config.json");
  EXPECT_EQ(c.num_key_value_heads, 8);
  EXPECT_EQ(c.max_position_embeddings, 4096 * 32);
  ASSERT_TRUE(c.sliding_window.has_value());
  EXPECT_EQ(*c.sliding_window, 4096);
  EXPECT_FALSE(c.attention_bias);
}

TEST(ModelConfig, Qwen3HeadDimDefaultsTo128AndHasQkNorm) {
  const ModelConfig c = ModelConfig::from_json(json{{"model_type", "qwen3"}, {"hidden_size", 1024},
                                                    {"num_attention_heads", 16}, {"num_key_value_heads", 8}},
                                               "config.json");
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_TRUE(c.qk_norm);
  EXPECT_FALSE(c.attention_bias);
}

TEST(ModelConfig, LlamaAttentionBiasCoversOutputProjection) {
  const ModelConfig c = ModelConfig::from_json(json{{"model_type", "llama"}, {"attention_bias", true}}, "config.json");
  EXPECT_TRUE(c.attention_bias);
  EXPECT_TRUE(c.attention_out_bias);
}

TEST(ModelConfig, EosTokenListIsKept) {
  json j = qwen2_json();
  j["eos_token_id"] = {128001, 128008, 128009};
  EXPECT_EQ(ModelConfig::from_json(j, "config.json").eos_token_ids, (std::vector<int64_t>{128001, 128008, 128009}));
}

TEST(ModelConfig, Qwen2SlidingWindowOnlyWhenEnabledForSomeLayer) {
  json j = qwen2_json();
  j["use_sliding_window"] = true;
  j["sliding_window"] = 16;
  j["max_window_layers"] = 2;  // layers 0 and 1 are below it: no layer slides
  EXPECT_FALSE(ModelConfig::from_json(j, "config.json").sliding_window.has_value());
  j["max_window_layers"] = 1;
  EXPECT_EQ(ModelConfig::from_json(j, "config.json").sliding_window.value_or(-1), 16);
  j["layer_types"] = {"full_attention", "full_attention"};
  EXPECT_FALSE(ModelConfig::from_json(j, "config.json").sliding_window.has_value());
}

TEST(ModelConfig, RefusesUnknownArchitectureNamingTheKey) {
  json j = qwen2_json();
  j["architectures"] = {"GPT2LMHeadModel"};
  const std::string message = parse_error(j);
  EXPECT_NE(message.find("dir/config.json"), std::string::npos) << message;
  EXPECT_NE(message.find("architectures[0]"), std::string::npos) << message;
  EXPECT_NE(message.find("GPT2LMHeadModel"), std::string::npos) << message;
}

TEST(ModelConfig, RefusesMismatchedModelType) {
  json j = qwen2_json();
  j["model_type"] = "llama";
  EXPECT_NE(parse_error(j).find("model_type"), std::string::npos);
}

TEST(ModelConfig, RefusesUnimplementedRopeScaling) {
  json j = qwen2_json();
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
  const std::string message = parse_error(j);
  EXPECT_NE(message.find("rope_scaling.rope_type"), std::string::npos) << message;
  EXPECT_NE(message.find("yarn"), std::string::npos) << message;
  j["rope_scaling"] = {{"type", "dynamic"}, {"factor", 2.0}};
  EXPECT_NE(parse_error(j).find("'dynamic' is not implemented"), std::string::npos);
}

TEST(ModelConfig, RefusesLlama3ScalingWithoutItsKeys) {
  json j = qwen2_json();
  j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}};
  EXPECT_NE(parse_error(j).find("rope_scaling.low_freq_factor"), std::string::npos);
}

TEST(ModelConfig, ReadsV5RopeParameters) {
  json j = qwen2_json();
  j["rope_parameters"] = {{"rope_type", "linear"}, {"factor", 2.0}, {"rope_theta", 500000.0}};
  const ModelConfig c = ModelConfig::from_json(j, "config.json");
  EXPECT_DOUBLE_EQ(c.rope_theta, 500000.0);
  EXPECT_EQ(c.rope_scaling.rope_type, "linear");
  EXPECT_DOUBLE_EQ(c.rope_scaling.factor, 2.0);
}

TEST(ModelConfig, RefusesMlpBias) {
  json j = qwen2_json();
  j["model_type"] = "llama";
  j["architectures"] = {"LlamaForCausalLM"};
  j["mlp_bias"] = true;
  EXPECT_NE(parse_error(j).find("mlp_bias"), std::string::npos);
}

TEST(ModelConfig, RefusesOtherActivations) {
  json j = qwen2_json();
  j["hidden_act"] = "gelu";
  const std::string message = parse_error(j);
  EXPECT_NE(message.find("hidden_act"), std::string::npos) << message;
  EXPECT_NE(message.find("gelu"), std::string::npos) << message;
}

TEST(ModelConfig, RefusesQuantizedCheckpoints) {
  json j = qwen2_json();
  j["quantization_config"] = {{"quant_method", "gptq"}};
  EXPECT_NE(parse_error(j).find("quantization_config"), std::string::npos);
}

TEST(ModelConfig, RefusesKeyValueHeadsThatDoNotDivide) {
  json j = qwen2_json();
  j["num_key_value_heads"] = 3;
  EXPECT_NE(parse_error(j).find("num_key_value_heads: 3 does not divide num_attention_heads 4"), std::string::npos);
}

TEST(ModelConfig, RefusesWrongTypesNamingTheKey) {
  json j = qwen2_json();
  j["hidden_size"] = "32";
  EXPECT_NE(parse_error(j).find("hidden_size: expected an integer, got \"32\""), std::string::npos);
  j = qwen2_json();
  j["num_hidden_layers"] = 0;
  EXPECT_NE(parse_error(j).find("num_hidden_layers: expected an integer > 0"), std::string::npos);
}

TEST(ModelConfig, LoadNamesAMissingFile) {
  try {
    ModelConfig::load("/nonexistent-model-dir");
    FAIL() << "expected a ModelError";
  } catch (const trl::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-model-dir/config.json"), std::string::npos) << e.what();
  }
}

TEST(ModelConfig, JsonRoundTripKeepsEveryField) {
  json j = qwen2_json();
  j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                       {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 64}};
  j["tie_word_embeddings"] = true;
  j["pad_token_id"] = 5;
  j["custom_key"] = "kept";
  const ModelConfig a = ModelConfig::from_json(j, "config.json");
  const json written = a.to_json();
  EXPECT_EQ(written["custom_key"], "kept");
  const ModelConfig b = ModelConfig::from_json(written, "config.json");
  EXPECT_EQ(b.architecture, a.architecture);
  EXPECT_EQ(b.head_dim, a.head_dim);
  EXPECT_EQ(b.num_key_value_heads, a.num_key_value_heads);
  EXPECT_EQ(b.tie_word_embeddings, a.tie_word_embeddings);
  EXPECT_EQ(b.rope_scaling.rope_type, "llama3");
  EXPECT_EQ(b.rope_scaling.original_max_position_embeddings, 64);
  EXPECT_EQ(b.pad_token_id, a.pad_token_id);
  EXPECT_EQ(b.eos_token_ids, a.eos_token_ids);
  EXPECT_EQ(b.sliding_window, a.sliding_window);
}

TEST(ModelConfig, MistralWithoutWindowWritesNullSoTransformersAgrees) {
  ModelConfig c = trl::testing_support::tiny_model_config("mistral");
  ASSERT_FALSE(c.sliding_window.has_value());
  const json written = c.to_json();
  ASSERT_TRUE(written.contains("sliding_window"));
  EXPECT_TRUE(written["sliding_window"].is_null());
}

TEST(ModelConfig, ParameterCountMatchesTheTensors) {
  for (const char* type : {"qwen2", "llama", "qwen3", "mistral"}) {
    for (bool tied : {false, true}) {
      const ModelConfig c = trl::testing_support::tiny_model_config(type, {{"tie_word_embeddings", tied}});
      auto model = trl::CausalLM::from_config(c, 0);
      int64_t counted = 0;
      for (const auto& [name, t] : model->named_parameters()) counted += t.numel();
      EXPECT_EQ(c.num_parameters(), counted) << type << " tied=" << tied;
    }
  }
}

}  // namespace
