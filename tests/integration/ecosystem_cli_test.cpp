// The ecosystem around a run, black box through trl-host: a DPO run started with TRL-style flags and
// --report_to tensorboard writes TensorBoard events equal to metrics.jsonl (checked by an independent
// reader), report_to / logging_dir behave as transformers', `plot` draws its curves,
// the flags / JSON / YAML forms of a config resolve to the same run config, and `env` reports every field.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/csrc/api/include/torch/version.h>

#include "host_process.h"

namespace {
namespace fs = std::filesystem;
using host_process::Result;

const std::string kTrainData = std::string(TRL_TEST_DATA_DIR) + "/../examples/data/prefs_train.jsonl";

// A python3 helper's exit status and stdout.
std::pair<int, std::string> python(const std::string& script, const std::vector<std::string>& args,
                                   const std::string& out_file) {
  std::string cmd = "python3 '" + std::string(TRL_TEST_DATA_DIR) + "/" + script + "'";
  for (const std::string& a : args) cmd += " '" + a + "'";
  cmd += " > '" + out_file + "' 2>&1";
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, host_process::slurp(out_file)};
}

using host_process::read_jsonl;

// One tiny model and one 4-step DPO run (started as `trl-host dpo --flags`) shared by the suite.
class Ecosystem : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<host_process::TempDir>("ecosystem");
    const Result init = host({"init-model", "--preset", "tiny", "--out", path("model"), "--seed", "1"});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    train_ = std::make_unique<Result>(host({"dpo", "--model_name_or_path", path("model"), "--dataset_name",
                                            kTrainData, "--output_dir", path("run"), "--max_steps", "4",
                                            "--per_device_train_batch_size", "4", "--learning_rate", "1e-3",
                                            "--logging_steps", "1", "--save_steps", "0", "--num_threads", "1",
                                            "--max_length", "64"}));  // report_to defaults to "all"
  }
  static void TearDownTestSuite() {
    train_.reset();
    dir_.reset();
  }
  static Result host(const std::vector<std::string>& args) { return host_process::run(dir_->path(), args); }
  static std::string path(const std::string& name) { return dir_->path(name); }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(path(name)) << text;
    return path(name);
  }

  static std::unique_ptr<host_process::TempDir> dir_;
  static std::unique_ptr<Result> train_;
};
std::unique_ptr<host_process::TempDir> Ecosystem::dir_;
std::unique_ptr<Result> Ecosystem::train_;

TEST_F(Ecosystem, FlagsRunTrainsAndTensorBoardEqualsMetricsJsonl) {
  ASSERT_EQ(train_->exit_code, 0) << train_->err;
  ASSERT_EQ(read_jsonl(path("run/metrics.jsonl")).size(), 5u);  // four steps and the summary
  // transformers' layout: output_dir/runs/<Mon DD_HH-MM-SS>_<host>/events.out.tfevents.*
  std::vector<fs::path> folders, files;
  for (const auto& entry : fs::directory_iterator(path("run/runs"))) folders.push_back(entry.path());
  ASSERT_EQ(folders.size(), 1u);
  EXPECT_TRUE(fs::is_directory(folders[0])) << folders[0];
  for (const auto& entry : fs::directory_iterator(folders[0]))
    if (entry.path().filename().string().rfind("events.out.tfevents.", 0) == 0) files.push_back(entry.path());
  EXPECT_EQ(files.size(), 1u);
  EXPECT_NE(train_->err.find("TensorBoard: " + files.at(0).string()), std::string::npos) << train_->err;
  // Framing, both CRCs and the protobuf checked; every scalar equal (as float32) to metrics.jsonl.
  const auto [status, out] =
      python("tensorboard/read_events.py", {path("run/runs"), path("run/metrics.jsonl")}, path("events.txt"));
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("ok: 5 events"), std::string::npos) << out;
}

// report_to as transformers: "none" writes no events even with logging_dir; "all" writes to
// logging_dir; an integration trl-host lacks is a config error (exit 2) before any work.
TEST_F(Ecosystem, ReportToAndLoggingDirAsTransformers) {
  const std::vector<std::string> common = {"dpo", "--model_name_or_path", path("model"), "--dataset_name", kTrainData,
                                           "--max_steps", "1", "--per_device_train_batch_size", "2",
                                           "--save_steps", "0", "--num_threads", "1", "--max_length", "32"};
  // Absolute paths: flags resolve against the current directory, which is not the suite's folder.
  std::vector<std::string> quiet = common;
  for (const std::string& word : {std::string("--output_dir"), path("quiet"), std::string("--report_to"),
                                  std::string("none"), std::string("--logging_dir"), path("quiet-tb")})
    quiet.push_back(word);
  const Result none = host(quiet);
  ASSERT_EQ(none.exit_code, 0) << none.err;
  EXPECT_TRUE(fs::exists(path("quiet/metrics.jsonl")));
  EXPECT_FALSE(fs::exists(path("quiet/runs")));
  EXPECT_FALSE(fs::exists(path("quiet-tb")));
  EXPECT_EQ(none.err.find("TensorBoard"), std::string::npos) << none.err;

  std::vector<std::string> all = common;
  for (const std::string& word : {std::string("--output_dir"), path("all"), std::string("--report_to"),
                                  std::string("all"), std::string("--logging_dir"), path("all-tb")})
    all.push_back(word);
  const Result to_all = host(all);
  ASSERT_EQ(to_all.exit_code, 0) << to_all.err;
  EXPECT_FALSE(fs::exists(path("all/runs")));
  const auto [status, out] = python("tensorboard/read_events.py", {path("all-tb"), path("all/metrics.jsonl")},
                                    path("all-events.txt"));
  EXPECT_EQ(status, 0) << out;

  std::vector<std::string> wandb = common;
  for (const std::string& word : {std::string("--output_dir"), path("wandb"), std::string("--report_to"),
                                  std::string("tensorboard"), std::string("wandb")})
    wandb.push_back(word);
  const Result refused = host(wandb);
  EXPECT_EQ(refused.exit_code, 2) << refused.err;
  EXPECT_NE(refused.err.find("report_to: \"wandb\" is a transformers integration that trl-host does not include; "
                             "supported: \"tensorboard\", \"all\" (= tensorboard) or \"none\""),
            std::string::npos)
      << refused.err;
  EXPECT_FALSE(fs::exists(path("wandb/metrics.jsonl")));
}

TEST_F(Ecosystem, PlotDrawsDefaultPanelsWithEveryLoggedStep) {
  ASSERT_EQ(train_->exit_code, 0) << train_->err;
  const Result r = host({"plot", path("run"), "--out", path("curves.svg")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, path("curves.svg") + "\n");
  const auto [status, out] = python("plot/svg_summary.py", {path("curves.svg")}, path("svg.json"));
  ASSERT_EQ(status, 0) << out;
  const nlohmann::json svg = nlohmann::json::parse(out);
  EXPECT_EQ(svg["title"], "run: training curves");
  ASSERT_EQ(svg["panels"].size(), 3u) << out;  // DPO's defaults: loss, rewards/accuracies, rewards/margins
  EXPECT_EQ(svg["panels"][0]["metric"], "loss");
  for (const auto& panel : svg["panels"]) {
    EXPECT_EQ(panel["points"], 4) << panel;  // one per logged step
    EXPECT_EQ(panel["axes"], 2) << panel;
    EXPECT_EQ(panel["axis_labels"], nlohmann::json({"step", panel["metric"]})) << panel;
    EXPECT_GE(panel["tick_labels"].get<int>(), 4) << panel;
  }
}

TEST_F(Ecosystem, PlotChosenMetrics) {
  ASSERT_EQ(train_->exit_code, 0) << train_->err;
  const Result r = host({"plot", path("run"), "--metrics", "grad_norm,learning_rate,train_loss"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto [status, out] = python("plot/svg_summary.py", {path("run/plot.svg")}, path("svg2.json"));
  ASSERT_EQ(status, 0) << out;
  const nlohmann::json svg = nlohmann::json::parse(out);
  ASSERT_EQ(svg["panels"].size(), 3u);
  EXPECT_EQ(svg["panels"][1]["points"], 4);
  EXPECT_EQ(svg["panels"][2]["points"], 1);  // train_loss is logged once, at the end
}

TEST_F(Ecosystem, PlotErrorsExit2) {
  ASSERT_EQ(train_->exit_code, 0) << train_->err;
  const Result unknown = host({"plot", path("run"), "--metrics", "loss,rewards/acuracies"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("no metric 'rewards/acuracies'"), std::string::npos) << unknown.err;
  EXPECT_NE(unknown.err.find("did you mean 'rewards/accuracies'?"), std::string::npos) << unknown.err;
  EXPECT_NE(unknown.err.find("available: "), std::string::npos) << unknown.err;
  const Result missing = host({"plot", path("model")});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("no metrics.jsonl"), std::string::npos) << missing.err;
}

TEST_F(Ecosystem, FlagsJsonAndYamlResolveToTheSameRunConfig) {
  // Absolute model and output paths: flags resolve against the current directory and config files
  // against their own folder, so relative ones would (rightly) differ between the forms.
  const std::string model = path("models/tiny"), out = path("out");
  const Result flags = host({"dpo", "--model_name_or_path", model, "--dataset_name", kTrainData,
                             "--output_dir", out, "--beta", "0.2", "--loss_type", "sigmoid", "--max_steps", "7",
                             "--learning_rate", "5e-4", "--callbacks", "bema", "--print-config"});
  ASSERT_EQ(flags.exit_code, 0) << flags.err;
  const std::string json = write("run.json", nlohmann::json({{"trainer", "dpo"},
                                                             {"model", model},
                                                             {"train_dataset", kTrainData},
                                                             {"callbacks", {{{"name", "bema"}}}},
                                                             {"args",
                                                              {{"output_dir", out},
                                                               {"beta", 0.2},
                                                               {"loss_type", {"sigmoid"}},
                                                               {"max_steps", 7},
                                                               {"learning_rate", 5e-4}}}})
                                                 .dump(2));
  const Result from_json = host({"train", json, "--print-config"});
  ASSERT_EQ(from_json.exit_code, 0) << from_json.err;
  EXPECT_EQ(nlohmann::json::parse(flags.out), nlohmann::json::parse(from_json.out));
  const std::string yaml = write("run.yaml", "trainer: dpo\nmodel: " + model + "\ntrain_dataset: " + kTrainData +
                                                 "\ncallbacks:\n  - name: bema\nargs:\n  output_dir: " + out + "\n"
                                                 "  beta: 0.2\n  loss_type: [sigmoid]\n  max_steps: 7\n"
                                                 "  learning_rate: 5e-4\n");
  const Result from_yaml = host({"train", yaml, "--print-config"});
  ASSERT_EQ(from_yaml.exit_code, 0) << from_yaml.err;
  EXPECT_EQ(nlohmann::json::parse(from_yaml.out), nlohmann::json::parse(from_json.out));
  // A flat TRL-style YAML through --config, a flag overriding one of its values.
  const std::string flat = write("trl.yaml", "model_name_or_path: " + model + "\ndataset_name: " + kTrainData +
                                                 "\noutput_dir: " + out + "\nbeta: 0.9\nloss_type: sigmoid\nmax_steps: 7\n"
                                                 "learning_rate: 5.0e-4\ncallbacks: [bema]\n");
  const Result from_flat = host({"dpo", "--config", flat, "--beta", "0.2", "--print-config"});
  ASSERT_EQ(from_flat.exit_code, 0) << from_flat.err;
  EXPECT_EQ(nlohmann::json::parse(from_flat.out), nlohmann::json::parse(from_json.out));
}

TEST_F(Ecosystem, FlagErrorsExit2) {
  const Result unknown = host({"dpo", "--model_name_or_path", "m", "--dataset_name", "d", "--bta", "0.1"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("--bta: unknown flag (did you mean 'beta'?)"), std::string::npos) << unknown.err;
  const std::string bad = write("bad.yaml", "model_name_or_path: m\nbeta: [0.1\nmax_steps: 3\n");
  const Result yaml = host({"dpo", "--config", bad});
  EXPECT_EQ(yaml.exit_code, 2);
  EXPECT_NE(yaml.err.find(bad + ":"), std::string::npos) << yaml.err;
  EXPECT_NE(yaml.err.find("invalid YAML"), std::string::npos) << yaml.err;
  const Result train_yaml = host({"train", bad});
  EXPECT_EQ(train_yaml.exit_code, 2);
  EXPECT_NE(train_yaml.err.find("invalid YAML"), std::string::npos) << train_yaml.err;
}

TEST_F(Ecosystem, GfpoFlagsBuildRewardsAndGroupFilter) {
  const Result r = host({"gfpo", "--model_name_or_path", "m", "--dataset_name", "d.jsonl", "--reward_funcs", "format",
                         "--group_filter", "length", "--num_generations", "4", "--num_remains_in_group", "2",
                         "--print-config"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json config = nlohmann::json::parse(r.out);
  EXPECT_EQ(config["trainer"], "gfpo");
  EXPECT_EQ(config["reward_funcs"], nlohmann::json::parse(R"([{"name": "format"}])"));
  EXPECT_EQ(config["group_filter"], nlohmann::json::parse(R"({"name": "length"})"));
  EXPECT_EQ(config["args"]["num_generations"], 4);
}

TEST_F(Ecosystem, EnvReportsEveryField) {
  const Result r = host({"env", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json env = nlohmann::json::parse(r.out);
  for (const char* key : {"trl_host_version", "git_commit", "sdk_abi", "libtorch", "compiler", "cxx11_abi",
                          "blas_libraries", "libtorch_build_blas", "openblas", "intra_op_threads", "default_threads",
                          "cpu_model", "cpu_capability", "physical_cores", "hardware_threads", "memory_total_mib",
                          "memory_available_mib", "cuda", "os", "environment", "plugin_search_path", "plugins"})
    EXPECT_TRUE(env.contains(key)) << key << " missing: " << r.out;
  // The LibTorch this test was compiled against (1.13, or 2.x in the TRL_TORCH=pip build), and its library.
  EXPECT_EQ(env["libtorch"], TORCH_VERSION);
  EXPECT_NE(env["libtorch_library"].get<std::string>().find("libtorch_cpu.so"), std::string::npos) << r.out;
  EXPECT_EQ(env["libtorch_description"].get<std::string>().rfind("LibTorch " + std::string(TORCH_VERSION) + " (", 0), 0u)
      << r.out;
  EXPECT_TRUE(env["cuda"]["backend_loaded"].is_boolean()) << env["cuda"];
  EXPECT_GE(env["physical_cores"].get<int>(), 1);
  EXPECT_GT(env["memory_total_mib"].get<int64_t>(), 0);
  EXPECT_TRUE(env["cuda"]["built"].is_boolean() && env["cuda"]["devices"].is_number()) << env["cuda"];
  EXPECT_NE(env["cpu_capability"], "unknown");
  std::map<std::string, std::string> stability;
  for (const auto& p : env["plugins"]) {
    EXPECT_EQ(p["status"], "ok") << p;
    EXPECT_FALSE(p["version"].get<std::string>().empty()) << p;
    stability[p["name"].get<std::string>()] = p["stability"].get<std::string>();
  }
  EXPECT_EQ(stability["dpo"], "stable");
  EXPECT_EQ(stability["gfpo"], "experimental");
  // The variables that change behaviour are reported when set (host_process clears the TRL_* policy ones).
  const Result with_env = host_process::run(dir_->path(), {"env", "--json"}, {{"TENSORBOARD_LOGGING_DIR", "/tmp/tb"}});
  ASSERT_EQ(with_env.exit_code, 0) << with_env.err;
  EXPECT_EQ(nlohmann::json::parse(with_env.out)["environment"]["TENSORBOARD_LOGGING_DIR"], "/tmp/tb") << with_env.out;
  const Result text = host({"env"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("LibTorch:         LibTorch " + std::string(TORCH_VERSION) + " ("), std::string::npos)
      << text.out;
  for (const char* line : {"SDK ABI:", "LibTorch:", "BLAS in use:", "OpenBLAS:", "Threads:", "CPU:", "ATen kernels",
                           "Memory:", "CUDA:", "OS:", "Environment:", "Plugins:", "dpo ", "[stable]", "[experimental]"})
    EXPECT_NE(text.out.find(line), std::string::npos) << line << " missing:\n" << text.out;
}

}  // namespace
