// TRL-style flags (`trl-host dpo --model_name_or_path ... --beta 0.1`) to the run config `train` takes.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "trl/sdk/error.h"
#include "trl/sdk/params.h"
#include "trl/sdk/train/training_args.h"
#include "trl_flags.h"

namespace {
namespace fs = std::filesystem;
using trl::ParamType;

// TrainingArguments plus a few DPO-shaped parameters of each type.
trl::ParamTable dpo_like_params() {
  trl::ParamTable table = trl::training_arguments_params();
  table.add("beta", ParamType::number, 0.1, "KL weight").greater_than(0);
  table.add("loss_type", ParamType::string_list, nlohmann::json::array({"sigmoid"}), "losses").accept_single();
  table.add("loss_weights", ParamType::number_list, nullptr, "weights");
  table.add("precompute_ref_log_probs", ParamType::boolean, false, "precompute");
  table.add("max_length", ParamType::integer, 1024, "tokens").allow_null();
  return table;
}

nlohmann::json flags_config(const std::vector<std::string>& flags, const nlohmann::json& document = nullptr) {
  return trl::host::run_config_from_trl_flags("dpo", document, "cfg.yaml", flags, dpo_like_params());
}

std::string error_of(const std::vector<std::string>& flags, const nlohmann::json& document = nullptr) {
  try {
    flags_config(flags, document);
  } catch (const trl::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(TrlFlags, MapTrlNamesToTheRunConfig) {
  const nlohmann::json config =
      flags_config({"--model_name_or_path", "models/tiny", "--dataset_name", "data/prefs.jsonl", "--output_dir", "out",
                    "--beta", "0.25", "--learning_rate", "1e-6", "--max_steps", "100", "--loss_type", "sigmoid",
                    "hinge", "--loss_weights=0.5,1", "--precompute_ref_log_probs", "--max_length", "None",
                    "--logging-steps", "5", "--callbacks", "bema"});
  const nlohmann::json expected = {
      {"trainer", "dpo"},
      {"model", "models/tiny"},
      {"train_dataset", "data/prefs.jsonl"},
      {"callbacks", {{{"name", "bema"}}}},
      {"args",
       {{"output_dir", "out"},
        {"beta", 0.25},
        {"learning_rate", 1e-6},
        {"max_steps", 100},
        {"loss_type", {"sigmoid", "hinge"}},
        {"loss_weights", {0.5, 1}},
        {"precompute_ref_log_probs", true},
        {"max_length", nullptr},
        {"logging_steps", 5}}}};
  EXPECT_EQ(config, expected) << config.dump(2);
  EXPECT_TRUE(config["args"]["max_steps"].is_number_integer());
}

TEST(TrlFlags, FlagsOverrideTheConfigDocument) {
  // A flat TRL-style YAML (as TRL's examples) and a run-config-shaped one mix; the command line wins.
  const nlohmann::json document = {{"model_name_or_path", "m"},       {"dataset_name", "d.jsonl"}, {"beta", 0.5},
                                   {"args", {{"max_steps", 10}, {"seed", 3}}}, {"trainer", "dpo"}};
  const nlohmann::json config = flags_config({"--beta", "0.2", "--seed", "7"}, document);
  EXPECT_EQ(config["args"]["beta"], 0.2);
  EXPECT_EQ(config["args"]["seed"], 7);
  EXPECT_EQ(config["args"]["max_steps"], 10);
  EXPECT_EQ(config["model"], "m");
  EXPECT_EQ(config["train_dataset"], "d.jsonl");
}

TEST(TrlFlags, UnknownFlagSuggestsTheClosestName) {
  const std::string message = error_of({"--learnig_rate", "1e-6"});
  EXPECT_EQ(message.rfind("--learnig_rate: unknown flag (did you mean 'learning_rate'?)", 0), 0u) << message;
  EXPECT_NE(error_of({"--model_name_or_pth", "m"}).find("did you mean 'model_name_or_path'"), std::string::npos);
}

TEST(TrlFlags, UnknownConfigKeyNamesTheFile) {
  const std::string message = error_of({}, {{"bta", 0.1}});
  EXPECT_EQ(message.rfind("cfg.yaml: bta: unknown key (did you mean 'beta'?)", 0), 0u) << message;
}

TEST(TrlFlags, ValuesAreCheckedAgainstTheDeclaredType) {
  EXPECT_EQ(error_of({"--beta", "high"}), "--beta: expected a number, got 'high'");
  EXPECT_EQ(error_of({"--max_steps", "2.5"}), "--max_steps: expected an integer, got '2.5'");
  EXPECT_EQ(error_of({"--beta"}), "--beta: expected a value (number)");
  EXPECT_NE(error_of({"--beta", "0.1", "0.2"}).find("--beta: expected one value, got 2"), std::string::npos);
  EXPECT_EQ(error_of({"beta", "0.1"}), "'beta': expected a flag (--name value), e.g. --beta 0.1");
}

TEST(TrlFlags, ConfigNamingAnotherTrainerIsRefused) {
  EXPECT_NE(error_of({}, {{"trainer", "gfpo"}}).find("this command trains with 'dpo'"), std::string::npos);
}

TEST(TrlFlags, DatasetFolderResolvesSplits) {
  const fs::path dir = fs::temp_directory_path() / ("trl-flags-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "train.jsonl") << "{}\n";
  std::ofstream(dir / "validation.json") << "[]\n";
  const nlohmann::json config = flags_config({"--dataset_name", dir.string(), "--dataset_test_split", "validation",
                                              "--eval_strategy", "steps", "--model", "m"});
  EXPECT_EQ(config["train_dataset"], (dir / "train.jsonl").string());
  EXPECT_EQ(config["eval_dataset"], (dir / "validation.json").string());
  // Without evaluation no test split is needed (TRL: eval_dataset only when eval_strategy != "no").
  EXPECT_FALSE(flags_config({"--dataset_name", dir.string()}).contains("eval_dataset"));
  EXPECT_NE(error_of({"--dataset_name", dir.string(), "--dataset_train_split", "dev"}).find("has no dev.jsonl"),
            std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
