// YAML run configs: the same JSON as the equivalent JSON config, YAML 1.2 scalar types, and errors that
// name file:line:column.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "run_config.h"
#include "trl/sdk/error.h"
#include "yaml_document.h"

namespace {
namespace fs = std::filesystem;

class YamlConfig : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  std::string error_of(const std::string& text) {
    try {
      trl::host::parse_yaml(text, "cfg.yaml");
    } catch (const trl::ConfigError& e) {
      return e.what();
    }
    return "";
  }
  void SetUp() override { fs::create_directories(dir_); }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_ = fs::temp_directory_path() / ("trl-yaml-" + std::to_string(::getpid()));
};

TEST_F(YamlConfig, EqualsTheEquivalentJson) {
  const std::string json = write("run.json", R"({
    "trainer": "dpo", "model": "models/tiny", "ref_model": null, "train_dataset": "data/prefs.jsonl",
    "args": {"output_dir": "runs/x", "beta": 0.1, "loss_type": ["sigmoid", "hinge"], "learning_rate": 1e-6,
             "max_steps": 100, "logging_first_step": true, "max_grad_norm": 1.0, "seed": -3},
    "callbacks": [{"name": "bema", "args": {"update_ref_model": true, "ema_power": 0.5}}]})");
  const std::string yaml = write("run.yaml", R"(# TRL-style YAML run config
trainer: dpo
model: models/tiny
ref_model: ~
train_dataset: data/prefs.jsonl
args:
  output_dir: runs/x
  beta: 0.1
  loss_type: [sigmoid, hinge]
  learning_rate: 1e-6
  max_steps: 100
  logging_first_step: true
  max_grad_norm: 1.0
  seed: -3
callbacks:
  - name: bema
    args:
      update_ref_model: True
      ema_power: .5
)");
  EXPECT_EQ(trl::host::read_config_document(yaml), trl::host::read_config_document(json));
  const trl::RunConfig run = trl::host::load_run_config(yaml, {"args.beta=0.2"});
  EXPECT_EQ(run.model, (dir_ / "models/tiny").string());  // relative to the config file's folder
  EXPECT_DOUBLE_EQ(run.raw["args"]["beta"].get<double>(), 0.2);
  EXPECT_TRUE(run.raw["args"]["max_steps"].is_number_integer());
}

TEST_F(YamlConfig, DetectsYamlByContentWithoutExtension) {
  const std::string path = write("config", "trainer: dpo\nmodel: m\ntrain_dataset: d.jsonl\n");
  EXPECT_EQ(trl::host::read_config_document(path)["trainer"], "dpo");
  const std::string json_path = write("config2", "  {\"trainer\": \"dpo\"}");
  EXPECT_EQ(trl::host::read_config_document(json_path)["trainer"], "dpo");
}

TEST_F(YamlConfig, QuotedScalarsStayStrings) {
  const nlohmann::json j = trl::host::parse_yaml("a: '0.1'\nb: \"true\"\nc: !!str 5\nd: 0x10\ne: null\nf: yes\n", "x");
  EXPECT_EQ(j["a"], "0.1");
  EXPECT_EQ(j["b"], "true");
  EXPECT_EQ(j["c"], "5");
  EXPECT_EQ(j["d"], 16);
  EXPECT_TRUE(j["e"].is_null());
  EXPECT_EQ(j["f"], "yes");  // YAML 1.2 core schema: only true/false are booleans
}

TEST_F(YamlConfig, SyntaxErrorNamesLineAndColumn) {
  const std::string message = error_of("trainer: dpo\nargs:\n  beta: [0.1, 0.2\n  max_steps: 3\n");
  EXPECT_NE(message.find("cfg.yaml:"), std::string::npos) << message;
  EXPECT_NE(message.find("invalid YAML"), std::string::npos) << message;
  EXPECT_EQ(error_of("a: 1\nb:\n\t- x\n").rfind("cfg.yaml:3:", 0), 0u) << error_of("a: 1\nb:\n\t- x\n");
}

TEST_F(YamlConfig, RepeatedKeyIsAnErrorWithItsLine) {
  EXPECT_EQ(error_of("trainer: dpo\nmodel: a\nmodel: b\n"), "cfg.yaml:3:1: invalid YAML: key 'model' appears twice");
}

TEST_F(YamlConfig, RunConfigErrorsNameTheYamlFile) {
  const std::string path = write("bad.yaml", "trainer: dpo\nmodle: m\nmodel: m\ntrain_dataset: d\n");
  try {
    trl::host::load_run_config(path, {});
    FAIL() << "expected ConfigError";
  } catch (const trl::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.yaml: modle: unknown key (did you mean \"model\"?)"), std::string::npos)
        << e.what();
  }
}

TEST_F(YamlConfig, OneDocumentOnly) {
  EXPECT_EQ(error_of("trainer: dpo\n---\nmodel: m\n"), "cfg.yaml:2: invalid YAML: expected one document, found another here");
  EXPECT_EQ(error_of("trainer: dpo\n...\nmodel: m\n"), "cfg.yaml:3: invalid YAML: expected one document, found another here");
  // A leading document marker, directives and comments are one document.
  EXPECT_EQ(trl::host::parse_yaml("%YAML 1.2\n# run\n---\ntrainer: dpo\n...\n", "cfg.yaml")["trainer"], "dpo");
  EXPECT_EQ(trl::host::parse_yaml("text: |\n  --- indented, not a marker\n", "cfg.yaml")["text"],
            "--- indented, not a marker\n");
}

// yaml-cpp 0.7's LoadAll loops forever on a quoted scalar followed by a comma (found by the run_config
// fuzzer: tests/fuzz/corpus); a JSON-like file with a stray comma must be an error in bounded time.
TEST_F(YamlConfig, StrayCommaIsAnErrorNotAHang) {
  const std::string path = write("comma.yaml", " \"data/prefs.jsonl\",\n  \"eval_dataset\": \"d\"\n}\n");
  EXPECT_THROW(trl::host::load_run_config(path, {}), trl::ConfigError);
  EXPECT_THROW(trl::host::load_run_config(write("comma2.yaml", "\"a\",\n"), {}), trl::ConfigError);
}

}  // namespace
