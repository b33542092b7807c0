// Paths in a run config file are relative to the file's folder, not to the current directory (issue 10,
// docs/reliability.md "Config paths"); paths on the command line (--set, TRL-style flags) stay relative to
// the current directory. Black box: the real trl-host started in a folder other than the config's.
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "host_process.h"

namespace {
namespace fs = std::filesystem;
using nlohmann::json;

const std::string kPrefs = std::string(TRL_TEST_DATA_DIR) + "/../examples/data/prefs_train.jsonl";

/// Runs trl-host with `cwd` as its current directory; stdout/stderr captured in `capture_dir`.
host_process::Result run_in(const std::string& cwd, const std::string& capture_dir,
                            const std::vector<std::string>& args) {
  const std::string out = capture_dir + "/cwd.stdout", err = capture_dir + "/cwd.stderr";
  const pid_t pid = fork();
  if (pid == 0) {
    if (chdir(cwd.c_str()) != 0) _exit(127);
    host_process::exec_host(args, {}, out, err);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, host_process::slurp(out), host_process::slurp(err)};
}

/// A project folder: proj/models/tiny (a link to the shared tiny model), proj/cfg/data/prefs.jsonl, and
/// an unrelated folder "elsewhere" to start trl-host in.
class ConfigPaths : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    fs::create_directories(path("proj/models"));
    fs::create_directories(path("proj/cfg/data"));
    fs::create_directories(path("elsewhere"));
    fs::create_symlink(host_process::tiny_model(), path("proj/models/tiny"));
    fs::copy_file(kPrefs, path("proj/cfg/data/prefs.jsonl"));
  }
  std::string path(const std::string& name = "") const { return dir_.path(name); }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path(name), std::ios::binary) << text;
  }
  /// --print-config's JSON, run from "elsewhere".
  json printed(const std::vector<std::string>& args) const {
    const host_process::Result r = run_in(path("elsewhere"), path(), args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }
  host_process::TempDir dir_{"config-paths"};
};

const char* kDpoArgs = R"("max_steps": 1, "per_device_train_batch_size": 2, "max_length": 32, "num_threads": 1)";

TEST_F(ConfigPaths, ConfigInASubfolderFindsItsInputsAndWritesNextToItFromAnyDirectory) {
  write("proj/cfg/run.json", std::string(R"({"trainer": "dpo", "model": "../models/tiny",
      "train_dataset": "data/prefs.jsonl", "args": {"output_dir": "out", )") + kDpoArgs + "}}");
  const host_process::Result r = run_in(path("elsewhere"), path(), {"train", path("proj/cfg/run.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::is_regular_file(path("proj/cfg/out/model.safetensors")));
  EXPECT_TRUE(fs::is_regular_file(path("proj/cfg/out/metrics.jsonl")));
  EXPECT_TRUE(fs::is_empty(path("elsewhere"))) << "the run wrote into the current directory";
  // A relative config path works the same: trl-host started in proj, the config named cfg/run.json.
  const host_process::Result again =
      run_in(path("proj"), path(), {"train", "cfg/run.json", "--set", "args.output_dir=again"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(fs::is_regular_file(path("proj/again/model.safetensors"))) << "--set output_dir is CWD-relative";
}

TEST_F(ConfigPaths, PrintConfigShowsPathsResolvedAgainstTheConfigFolder) {
  write("proj/cfg/run.json", R"({"trainer": "dpo", "model": "../models/./tiny", "ref_model": "/abs/ref",
      "train_dataset": "data/prefs.jsonl", "eval_dataset": "../../elsewhere/../eval.jsonl",
      "args": {"output_dir": "../runs/x", "resume_from_checkpoint": "last", "beta": 0.1}})");
  const json config = printed({"train", path("proj/cfg/run.json"), "--print-config"});
  EXPECT_EQ(config["model"], path("proj/models/tiny"));
  EXPECT_EQ(config["ref_model"], "/abs/ref") << "an absolute path is left as written";
  EXPECT_EQ(config["train_dataset"], path("proj/cfg/data/prefs.jsonl"));
  EXPECT_EQ(config["eval_dataset"], path("eval.jsonl"));
  EXPECT_EQ(config["args"]["output_dir"], path("proj/runs/x"));
  EXPECT_EQ(config["args"]["resume_from_checkpoint"], "last") << "the keyword is not a path";
  EXPECT_EQ(config["args"]["beta"], 0.1);
  // Values given on the command line are the current directory's, as on any command line.
  const json overridden = printed({"train", path("proj/cfg/run.json"), "--print-config", "--set", "model=m",
                                   "--set", "args.output_dir=o", "--set", "args.resume_from_checkpoint=ck"});
  EXPECT_EQ(overridden["model"], "m");
  EXPECT_EQ(overridden["args"]["output_dir"], "o");
  EXPECT_EQ(overridden["args"]["resume_from_checkpoint"], "ck");
  EXPECT_EQ(overridden["train_dataset"], path("proj/cfg/data/prefs.jsonl"));
}

TEST_F(ConfigPaths, YamlConfigResolvesTheSameWay) {
  write("proj/cfg/run.yaml",
        "trainer: dpo\nmodel: ../models/tiny\ntrain_dataset: data/prefs.jsonl\nargs:\n  output_dir: ../runs/y\n"
        "  resume_from_checkpoint: ../runs/y/checkpoint-2\n");
  const json config = printed({"train", path("proj/cfg/run.yaml"), "--print-config"});
  EXPECT_EQ(config["model"], path("proj/models/tiny"));
  EXPECT_EQ(config["train_dataset"], path("proj/cfg/data/prefs.jsonl"));
  EXPECT_EQ(config["args"]["output_dir"], path("proj/runs/y"));
  EXPECT_EQ(config["args"]["resume_from_checkpoint"], path("proj/runs/y/checkpoint-2"));
}

TEST_F(ConfigPaths, TrlStyleConfigPathsFollowTheFileAndFlagsTheCurrentDirectory) {
  // A flat TRL-style YAML (trl-host dpo --config): its paths are the file's; a flag's path is the CWD's.
  write("proj/cfg/flat.yaml",
        "model_name_or_path: ../models/tiny\ndataset_name: data/prefs.jsonl\noutput_dir: out\nbeta: 0.2\n");
  const json from_file = printed({"dpo", "--config", path("proj/cfg/flat.yaml"), "--print-config"});
  EXPECT_EQ(from_file["model"], path("proj/models/tiny"));
  EXPECT_EQ(from_file["train_dataset"], path("proj/cfg/data/prefs.jsonl"));
  EXPECT_EQ(from_file["args"]["output_dir"], path("proj/cfg/out"));
  const json mixed =
      printed({"dpo", "--config", path("proj/cfg/flat.yaml"), "--output_dir", "mine", "--print-config"});
  EXPECT_EQ(mixed["args"]["output_dir"], "mine");
  EXPECT_EQ(mixed["model"], path("proj/models/tiny"));
}

TEST_F(ConfigPaths, MissingInputsAreNamedByResolvedPathAndKey) {
  write("proj/cfg/run.json", std::string(R"({"trainer": "dpo", "model": "models/tiny",
      "train_dataset": "data/prefs.jsonl", "args": {"output_dir": "out", )") + kDpoArgs + "}}");
  const host_process::Result model = run_in(path("elsewhere"), path(), {"train", path("proj/cfg/run.json")});
  EXPECT_EQ(model.exit_code, 1);
  EXPECT_NE(model.err.find(path("proj/cfg/models/tiny") + ": no such model folder (\"model\" of " +
                           path("proj/cfg/run.json")),
            std::string::npos)
      << model.err;
  EXPECT_FALSE(fs::exists(path("proj/cfg/out/model.safetensors")));

  write("proj/cfg/run.yaml", std::string("trainer: dpo\nmodel: ../models/tiny\ntrain_dataset: prefs.jsonl\n") +
                                 "args: {output_dir: out, " + kDpoArgs + "}\n");
  const host_process::Result data = run_in(path("elsewhere"), path(), {"train", path("proj/cfg/run.yaml")});
  EXPECT_EQ(data.exit_code, 1);
  EXPECT_NE(data.err.find(path("proj/cfg/prefs.jsonl") + ": no such file (\"train_dataset\" of " +
                          path("proj/cfg/run.yaml")),
            std::string::npos)
      << data.err;
}

}  // namespace
