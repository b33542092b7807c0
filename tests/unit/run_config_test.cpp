// The train command's run config: --set overrides and top-level key checks name the key at fault.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "run_config.h"
#include "trl/sdk/error.h"

namespace {
namespace fs = std::filesystem;

class RunConfigFile : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (fs::temp_directory_path() / ("trl_run_" + std::to_string(::getpid()) + ".json")).string();
  }
  void TearDown() override { fs::remove(path_); }
  void write(const std::string& text) { std::ofstream(path_) << text; }
  std::string error_of(const std::vector<std::string>& overrides = {}) {
    try {
      trl::host::load_run_config(path_, overrides);
    } catch (const trl::ConfigError& e) {
      return e.what();
    }
    return "";
  }
  std::string path_;
};

const char* kValid = R"({"trainer": "dpo", "model": "m", "train_dataset": "d.jsonl",
                         "args": {"output_dir": "out", "beta": 0.1}})";

TEST_F(RunConfigFile, ReadsTopLevelKeys) {
  write(kValid);
  trl::RunConfig run = trl::host::load_run_config(path_, {});
  EXPECT_EQ(run.trainer, "dpo");
  // Relative paths are the config file's folder's (resolve_config_paths).
  const fs::path folder = fs::path(path_).parent_path();
  EXPECT_EQ(run.model, (folder / "m").string());
  EXPECT_EQ(run.train_dataset, (folder / "d.jsonl").string());
  EXPECT_FALSE(run.ref_model.has_value());
  EXPECT_TRUE(run.callbacks.is_array());
}

TEST_F(RunConfigFile, SetOverridesDottedAndBareKeys) {
  write(kValid);
  trl::RunConfig run = trl::host::load_run_config(path_, {"args.beta=0.5", "max_steps=7", "model=other",
                                                          "args.loss_type=[\"ipo\",\"sft\"]", "ref_model=null"});
  EXPECT_EQ(run.raw["args"]["beta"], 0.5);
  EXPECT_EQ(run.raw["args"]["max_steps"], 7);
  EXPECT_EQ(run.model, "other");
  EXPECT_EQ(run.raw["args"]["loss_type"], nlohmann::json({"ipo", "sft"}));
  EXPECT_FALSE(run.ref_model.has_value());
}

TEST_F(RunConfigFile, SetValueThatIsNotJsonIsAString) {
  write(kValid);
  trl::RunConfig run = trl::host::load_run_config(path_, {"args.output_dir=runs/x y"});
  EXPECT_EQ(run.raw["args"]["output_dir"], "runs/x y");
}

TEST_F(RunConfigFile, SetWithoutEqualsIsAnError) {
  write(kValid);
  EXPECT_EQ(error_of({"beta"}), "--set: beta: expected key=value, e.g. --set args.max_steps=10");
}

TEST_F(RunConfigFile, UnknownTopLevelKeySuggests) {
  write(R"({"trainer": "dpo", "modle": "m", "model": "m", "train_dataset": "d"})");
  EXPECT_EQ(error_of().rfind(path_ + ": modle: unknown key (did you mean \"model\"?)", 0), 0u) << error_of();
}

TEST_F(RunConfigFile, MissingRequiredKey) {
  write(R"({"trainer": "dpo", "model": "m"})");
  EXPECT_EQ(error_of(), path_ + ": train_dataset: is required");
}

TEST_F(RunConfigFile, WrongTypeNamesKey) {
  write(R"({"trainer": "dpo", "model": 3, "train_dataset": "d"})");
  EXPECT_EQ(error_of(), path_ + ": model: expected a non-empty string, got 3");
}

TEST_F(RunConfigFile, BadJsonNamesLineAndColumn) {
  write("{\"trainer\": \"dpo\",\n  \"model\": }\n");
  EXPECT_EQ(error_of().rfind(path_ + ":2:12: invalid JSON", 0), 0u) << error_of();
}

TEST_F(RunConfigFile, MissingFile) {
  fs::remove(path_);
  EXPECT_EQ(error_of(), path_ + ": cannot be read");
}

}  // namespace
