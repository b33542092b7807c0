// `trl-host train` with the shipped dpo plugin, black box: outputs of a run, exit codes of config errors,
// SIGINT → checkpoint + exit 130 → --resume finishes, --stable-only with an experimental callback.
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "host_process.h"

namespace {
namespace fs = std::filesystem;
using host_process::Result;

using host_process::read_jsonl;

class DpoCli : public ::testing::Test {
 protected:
  void SetUp() override {
    const Result init = host({"init-model", "--preset", "tiny", "--out", dir_.path("model"), "--seed", "1"});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    nlohmann::json config = {{"trainer", "dpo"},
                             {"model", dir_.path("model")},
                             {"train_dataset", std::string(TRL_TEST_DATA_DIR) + "/../examples/data/prefs_train.jsonl"},
                             {"args",
                              {{"output_dir", dir_.path("run")},
                               {"max_steps", 3},
                               {"per_device_train_batch_size", 4},
                               {"learning_rate", 1e-3},
                               {"logging_steps", 1},
                               {"save_steps", 2},
                               {"num_threads", 1},
                               {"max_length", 64}}}};
    std::ofstream(config_path()) << config.dump(2);
  }
  std::string config_path() const { return dir_.path("run.json"); }
  Result host(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {}) {
    return host_process::run(dir_.path(), args, env);
  }
  host_process::TempDir dir_{"dpo-cli"};
};

TEST_F(DpoCli, TrainsAndWritesEveryOutput) {
  const Result r = host({"train", config_path()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<nlohmann::json> lines = read_jsonl(dir_.path("run/metrics.jsonl"));
  ASSERT_EQ(lines.size(), 4u);  // three steps and the summary
  // The invariance of TRL's tests: the policy starts equal to its reference, so step 1's loss is ln 2.
  EXPECT_NEAR(lines[0]["loss"].get<double>(), std::log(2.0), 1e-6);
  for (const char* key : {"loss", "grad_norm", "learning_rate", "epoch", "step", "rewards/chosen", "rewards/rejected",
                          "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected", "logits/chosen",
                          "logits/rejected", "entropy", "mean_token_accuracy", "num_tokens"})
    EXPECT_TRUE(lines[2].contains(key)) << key << " missing from " << lines[2];
  EXPECT_LT(lines[0]["num_tokens"].get<double>(), lines[2]["num_tokens"].get<double>());  // a running total
  for (const char* file : {"run/config.json", "run/model.safetensors", "run/tokenizer.json", "run/train.log",
                           "run/run_config.json", "run/checkpoint-2/optimizer.safetensors",
                           "run/checkpoint-2/trainer_state.json", "run/checkpoint-2/model.safetensors"})
    EXPECT_TRUE(fs::exists(dir_.path(file))) << file;
  // The final model is a model directory the host can generate from.
  const Result gen = host({"generate", "--model", dir_.path("run"), "--prompt", "Hi", "--max-new-tokens", "4"});
  EXPECT_EQ(gen.exit_code, 0) << gen.err;
}

TEST_F(DpoCli, BadArgumentExits2NamingTheKey) {
  const Result r = host({"train", config_path(), "--set", "args.beta=-1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("args: beta: expected a number > 0, got -1"), std::string::npos) << r.err;
}

TEST_F(DpoCli, UnknownArgumentSuggests) {
  const Result r = host({"train", config_path(), "--set", "args.betta=0.2"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("betta: unknown parameter (did you mean \"beta\"?)"), std::string::npos) << r.err;
}

TEST_F(DpoCli, UnknownTrainerExits2) {
  const Result r = host({"train", config_path(), "--set", "trainer=dop"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("dop"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("dpo"), std::string::npos) << r.err;  // the suggestion
}

TEST_F(DpoCli, BadDatasetRowNamesFileAndLine) {
  std::ofstream(dir_.path("bad.jsonl")) << R"({"prompt": "a", "chosen": "b", "rejected": "c"})" << "\n"
                                         << R"({"prompt": "a", "chosen": "b"})" << "\n";
  const Result r = host({"train", config_path(), "--set", "train_dataset=" + dir_.path("bad.jsonl")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(dir_.path("bad.jsonl") + ":2: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("rejected"), std::string::npos) << r.err;
}

TEST_F(DpoCli, StableOnlyRefusesAnExperimentalCallback) {
  const Result r = host({"--stable-only", "train", config_path(), "--set", R"(callbacks=[{"name": "bema"}])"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("bema"), std::string::npos) << r.err;
}

TEST_F(DpoCli, SigintSavesACheckpointExits130AndResumes) {
  host_process::Background run(dir_.path(), {"train", config_path(), "--set", "max_steps=400", "--set", "save_steps=0"});
  // Wait for the first logged step, then interrupt.
  const std::string metrics = dir_.path("run/metrics.jsonl");
  for (int i = 0; i < 600 && read_jsonl(metrics).empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_FALSE(read_jsonl(metrics).empty()) << "no step was logged within 60 s";
  run.signal(SIGINT);
  const Result r = run.wait();
  EXPECT_EQ(r.exit_code, 130) << r.err;
  int64_t checkpoints = 0;
  for (const auto& entry : fs::directory_iterator(dir_.path("run")))
    checkpoints += entry.path().filename().string().rfind("checkpoint-", 0) == 0;
  EXPECT_EQ(checkpoints, 1);
  EXPECT_FALSE(fs::exists(dir_.path("run/model.safetensors")));

  const Result resumed = host({"train", config_path(), "--set", "max_steps=400", "--set", "save_steps=0", "--set",
                               "max_steps=" + std::to_string(read_jsonl(metrics).back()["step"].get<int64_t>() + 2),
                               "--resume"});
  EXPECT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("resumed from"), std::string::npos) << resumed.err;
  EXPECT_TRUE(fs::exists(dir_.path("run/model.safetensors")));
}

}  // namespace
