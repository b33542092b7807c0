// LoRA through the real trl-host, black box: a dpo run with a "peft" block (adapter-only outputs in PEFT's
// layout, the adapter-off reference), merge-adapter and generate --adapter (plain LoRA, and DoRA with
// trained biases), a bad peft key, gfpo with a
// KL term on the adapter-off reference, and bema's PEFT case.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "host_process.h"

namespace {
namespace fs = std::filesystem;
using host_process::Result;

using host_process::read_jsonl;

class LoraCli : public ::testing::Test {
 protected:
  void SetUp() override {
    const Result init = host({"init-model", "--preset", "tiny", "--out", dir_.path("model"), "--seed", "1"});
    ASSERT_EQ(init.exit_code, 0) << init.err;
  }
  Result host(const std::vector<std::string>& args) { return host_process::run(dir_.path(), args, {{"OMP_NUM_THREADS", "1"}}); }

  // A dpo run: 3 steps of 4 pairs, checkpoint at step 2, LoRA on every projection.
  std::string dpo_config(const std::string& name, const nlohmann::json& peft, const nlohmann::json& extra = {}) {
    nlohmann::json config = {{"trainer", "dpo"},
                             {"model", dir_.path("model")},
                             {"train_dataset", std::string(TRL_TEST_DATA_DIR) + "/../examples/data/prefs_train.jsonl"},
                             {"peft", peft},
                             {"args",
                              {{"output_dir", dir_.path(name)},
                               {"max_steps", 3},
                               {"per_device_train_batch_size", 4},
                               {"learning_rate", 1e-2},
                               {"logging_steps", 1},
                               {"save_steps", 2},
                               {"num_threads", 1},
                               {"max_length", 64}}}};
    if (!extra.is_null()) config.merge_patch(extra);
    const std::string path = dir_.path(name + ".json");
    std::ofstream(path) << config.dump(2);
    return path;
  }

  host_process::TempDir dir_{"lora-cli"};
};

TEST_F(LoraCli, DpoTrainsAdaptersAndTheyMergeAndGenerate) {
  const std::string base_weights = host_process::slurp(dir_.path("model/model.safetensors"));
  const Result r = host({"train", dpo_config("run", {{"r", 4}, {"lora_alpha", 8}, {"target_modules", "all-linear"}})});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<nlohmann::json> lines = read_jsonl(dir_.path("run/metrics.jsonl"));
  ASSERT_EQ(lines.size(), 4u);
  // The reference is the policy with its adapters off and a fresh adapter is a no-op: step 1's loss is ln 2.
  EXPECT_NEAR(lines[0]["loss"].get<double>(), std::log(2.0), 1e-6);
  EXPECT_NE(lines[2]["loss"].get<double>(), lines[0]["loss"].get<double>());  // the adapters trained
  for (const char* file : {"run/adapter_model.safetensors", "run/adapter_config.json", "run/tokenizer.json",
                           "run/checkpoint-2/adapter_model.safetensors", "run/checkpoint-2/adapter_config.json",
                           "run/checkpoint-2/optimizer.safetensors"})
    EXPECT_TRUE(fs::is_regular_file(dir_.path(file))) << file;
  EXPECT_FALSE(fs::exists(dir_.path("run/model.safetensors")));
  EXPECT_EQ(host_process::slurp(dir_.path("model/model.safetensors")), base_weights);  // the base is untouched
  std::ifstream config_in(dir_.path("run/adapter_config.json"));
  const nlohmann::json adapter_config = nlohmann::json::parse(config_in);
  EXPECT_EQ(adapter_config["peft_type"], "LORA");
  EXPECT_EQ(adapter_config["base_model_name_or_path"], dir_.path("model"));

  const Result merge =
      host({"merge-adapter", "--model", dir_.path("model"), "--adapter", dir_.path("run"), "--out", dir_.path("merged")});
  ASSERT_EQ(merge.exit_code, 0) << merge.err;
  EXPECT_TRUE(fs::is_regular_file(dir_.path("merged/model.safetensors")));
  EXPECT_TRUE(fs::is_regular_file(dir_.path("merged/tokenizer.json")));
  // Greedy text of the merged model equals the base with the adapter applied on the fly.
  const Result merged = host({"generate", "--model", dir_.path("merged"), "--prompt", "Hi", "--max-new-tokens", "8"});
  const Result adapted = host({"generate", "--model", dir_.path("model"), "--adapter", dir_.path("run"), "--prompt",
                               "Hi", "--max-new-tokens", "8"});
  ASSERT_EQ(merged.exit_code, 0) << merged.err;
  ASSERT_EQ(adapted.exit_code, 0) << adapted.err;
  EXPECT_EQ(merged.out, adapted.out);
  const Result missing = host({"generate", "--model", dir_.path("model"), "--adapter", dir_.path("nowhere"), "--prompt", "Hi"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("adapter_config.json"), std::string::npos) << missing.err;
}

TEST_F(LoraCli, UnknownPeftKeyExits2WithSuggestion) {
  const Result r = host({"train", dpo_config("bad", {{"lora_rank", 4}})});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("peft: lora_rank: unknown parameter"), std::string::npos) << r.err;
  const Result pissa = host({"train", dpo_config("pissa", {{"init_lora_weights", "pissa"}})});
  EXPECT_EQ(pissa.exit_code, 2);
  EXPECT_NE(pissa.err.find("peft: init_lora_weights"), std::string::npos) << pissa.err;
  EXPECT_NE(pissa.err.find("not implemented"), std::string::npos) << pissa.err;
}

// DoRA with trained biases (bias "all") end to end: the fresh DoRA adapter is the base model (step 1's loss
// is ln 2), the adapter file holds magnitudes and biases under PEFT's names, and the merged model (DoRA
// rescaling, trained biases) generates what the base with the adapter applied on the fly generates.
TEST_F(LoraCli, DpoWithDoraAndTrainedBiasesMergesAndGenerates) {
  const Result r = host({"train", dpo_config("dora", {{"r", 4}, {"lora_alpha", 8}, {"target_modules", {"q_proj", "v_proj"}},
                                                      {"use_dora", true}, {"bias", "all"}})});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("uses the trained biases"), std::string::npos) << r.err;  // the reference warning
  const std::vector<nlohmann::json> lines = read_jsonl(dir_.path("dora/metrics.jsonl"));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_NEAR(lines[0]["loss"].get<double>(), std::log(2.0), 1e-6);
  const std::string adapter = host_process::slurp(dir_.path("dora/adapter_model.safetensors"));
  EXPECT_NE(adapter.find("model.layers.0.self_attn.q_proj.lora_magnitude_vector"), std::string::npos);
  EXPECT_NE(adapter.find("model.layers.0.self_attn.q_proj.base_layer.bias"), std::string::npos);
  EXPECT_NE(adapter.find("model.layers.0.self_attn.k_proj.bias"), std::string::npos);
  std::ifstream config_in(dir_.path("dora/adapter_config.json"));
  const nlohmann::json adapter_config = nlohmann::json::parse(config_in);
  EXPECT_EQ(adapter_config["use_dora"], true);
  EXPECT_EQ(adapter_config["bias"], "all");

  const Result merge =
      host({"merge-adapter", "--model", dir_.path("model"), "--adapter", dir_.path("dora"), "--out", dir_.path("merged")});
  ASSERT_EQ(merge.exit_code, 0) << merge.err;
  const Result merged = host({"generate", "--model", dir_.path("merged"), "--prompt", "Hi", "--max-new-tokens", "8"});
  const Result adapted = host({"generate", "--model", dir_.path("model"), "--adapter", dir_.path("dora"), "--prompt",
                               "Hi", "--max-new-tokens", "8"});
  ASSERT_EQ(merged.exit_code, 0) << merged.err;
  ASSERT_EQ(adapted.exit_code, 0) << adapted.err;
  EXPECT_EQ(merged.out, adapted.out);
}

TEST_F(LoraCli, GfpoWithKlUsesTheAdapterOffReference) {
  std::ofstream data(dir_.path("prompts.jsonl"));
  for (int i = 0; i < 6; ++i)
    data << nlohmann::json{{"prompt", "What is " + std::to_string(i) + " plus 1? "}, {"answer", i + 1}}.dump() << "\n";
  data.close();
  const nlohmann::json config = {
      {"trainer", "gfpo"},
      {"model", dir_.path("model")},
      {"train_dataset", dir_.path("prompts.jsonl")},
      {"peft", {{"r", 4}, {"target_modules", {"q_proj", "v_proj"}}}},
      {"reward_funcs", {{{"name", "length_penalty"}, {"args", {{"max_length", 8}}}}}},
      {"group_filter", {{"name", "length"}}},
      {"args",
       {{"output_dir", dir_.path("gfpo")}, {"max_steps", 2}, {"num_generations", 4}, {"num_remains_in_group", 2},
        {"per_device_train_batch_size", 8}, {"max_completion_length", 6}, {"beta", 0.04}, {"learning_rate", 1e-2},
        {"logging_steps", 1}, {"save_steps", 0}, {"seed", 0}, {"num_threads", 1}}}};
  std::ofstream(dir_.path("gfpo.json")) << config.dump(2);
  const Result r = host({"train", dir_.path("gfpo.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(host_process::slurp(dir_.path("gfpo/train.log")).find("adapters disabled"), std::string::npos);
  const std::vector<nlohmann::json> lines = read_jsonl(dir_.path("gfpo/metrics.jsonl"));
  ASSERT_EQ(lines.size(), 3u);
  ASSERT_TRUE(lines[0].contains("kl"));
  EXPECT_NEAR(lines[0]["kl"].get<double>(), 0.0, 1e-6);  // the fresh adapter is a no-op: policy = reference
  EXPECT_TRUE(fs::is_regular_file(dir_.path("gfpo/adapter_model.safetensors")));
  EXPECT_FALSE(fs::exists(dir_.path("gfpo/model.safetensors")));
}

TEST_F(LoraCli, BemaTracksTheAdaptersAndSavesAnAdapter) {
  const nlohmann::json bema = {{"name", "bema"},
                               {"args", {{"update_freq", 1}, {"update_ref_model", true}, {"ref_model_update_freq", 2}}}};
  const Result r = host({"train", dpo_config("bema", {{"r", 4}}, {{"callbacks", {bema}}})});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string log = host_process::slurp(dir_.path("bema/train.log"));
  EXPECT_NE(log.find("adapter keys filtered"), std::string::npos) << log;
  EXPECT_TRUE(fs::is_regular_file(dir_.path("bema/bema/adapter_model.safetensors")));
  EXPECT_TRUE(fs::is_regular_file(dir_.path("bema/bema/adapter_config.json")));
  // The BEMA adapter differs from the trained one (it is an average with an extrapolation, not a copy).
  EXPECT_NE(host_process::slurp(dir_.path("bema/bema/adapter_model.safetensors")),
            host_process::slurp(dir_.path("bema/adapter_model.safetensors")));
}

}  // namespace
