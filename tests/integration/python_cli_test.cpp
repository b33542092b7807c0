// Black-box tests of the experimental `python` plugin through the real trl-host: TRL's documentation
// GroupFilter and a Python accuracy reward training a GFPO run unchanged, numpy importing although the
// plugin is loaded RTLD_LOCAL, a virtual environment from $VIRTUAL_ENV, every rank of `trl-host launch`,
// and the errors: configuration problems exit 2 before training, Python failures during training are the
// plugin's errors (exit 3) naming the function.
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "host_process.h"

namespace {

namespace fs = std::filesystem;
using host_process::read_jsonl;
using host_process::Result;

std::string example(const std::string& name) {
  return std::string(TRL_TEST_DATA_DIR) + "/../examples/python/" + name;
}

class PythonCli : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    std::ofstream data(dir_.path("prompts.jsonl"));
    for (int i = 0; i < 6; ++i)
      data << nlohmann::json{{"prompt", "What is " + std::to_string(i) + " plus 1? "}, {"answer", i + 1}}.dump() << "\n";
  }

  // trl-host with the shipped plugins, one thread, and no virtual environment unless `env` names one.
  Result host(const std::vector<std::string>& args, std::map<std::string, std::string> env = {}) {
    env.emplace("VIRTUAL_ENV", "");
    env.emplace("OMP_NUM_THREADS", "1");
    return host_process::run(dir_.path(), args, env);
  }

  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir_.path(name)) << text;
    return dir_.path(name);
  }

  // A gfpo run config in the temp folder (so relative paths are relative to it): G 4, 3 prompts per
  // generation, 8-token completions, logged every step.
  std::string config(const std::string& name, const nlohmann::json& reward_funcs, const nlohmann::json& filter,
                     const nlohmann::json& extra_args = nlohmann::json::object()) {
    nlohmann::json args = {{"output_dir", dir_.path(name)}, {"max_steps", 2},     {"num_generations", 4},
                           {"per_device_train_batch_size", 12}, {"max_completion_length", 8},
                           {"learning_rate", 1e-3},             {"logging_steps", 1}, {"save_steps", 0},
                           {"seed", 0}};
    args.update(extra_args);
    nlohmann::json doc = {{"trainer", "gfpo"},
                          {"model", host_process::tiny_model()},
                          {"train_dataset", "prompts.jsonl"},
                          // One spec in braces is an object, not a list of one.
                          {"reward_funcs", reward_funcs.is_array() ? reward_funcs : nlohmann::json::array({reward_funcs})},
                          {"args", args}};
    if (!filter.is_null()) {
      doc["group_filter"] = filter;
      doc["args"]["num_remains_in_group"] = 2;
    }
    std::ofstream(dir_.path(name + ".json")) << doc.dump(2) << "\n";
    return dir_.path(name + ".json");
  }

  static nlohmann::json python(const std::string& file, const std::string& function) {
    return {{"name", "python"}, {"args", {{"file", file}, {"function", function}}}};
  }

  host_process::TempDir dir_{"python-cli"};
};

TEST_F(PythonCli, TrlPageGroupFilterAndPythonAccuracyTrainUnchanged) {
  const std::string path =
      config("page", {{{"name", "accuracy"}}, python(example("rewards.py"), "accuracy_reward")},
             python(example("group_filter.py"), "GroupFilter"));
  const Result run = host({"train", path});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("'python'"), std::string::npos) << "the experimental warning names the plugin: " << run.err;
  EXPECT_TRUE(fs::exists(dir_.path("page/model.safetensors")));

  // The page's filter scores each completion by its position: the last R = 2 of every group are kept.
  const std::vector<nlohmann::json> rows = read_jsonl(dir_.path("page/completions.jsonl"));
  ASSERT_EQ(rows.size(), 24u);  // 2 steps x 3 prompts x G 4, in group order
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].at("kept").get<bool>(), i % 4 >= 2) << "row " << i << " (position " << i % 4 << " of its group)";
    // The Python accuracy reward gives the C++ one's reward on every completion.
    EXPECT_EQ(rows[i].at("rewards").at("accuracy_reward"), rows[i].at("rewards").at("accuracy")) << rows[i].dump();
  }

  // Its metrics carry the function's name, as TRL's, and agree with the C++ reward's step by step.
  const std::vector<nlohmann::json> metrics = read_jsonl(dir_.path("page/metrics.jsonl"));
  ASSERT_EQ(metrics.size(), 3u);
  for (size_t step = 0; step < 2; ++step) {
    ASSERT_TRUE(metrics[step].contains("rewards/accuracy_reward/mean")) << metrics[step].dump();
    EXPECT_EQ(metrics[step].at("rewards/accuracy_reward/mean"), metrics[step].at("rewards/accuracy/mean"));
    EXPECT_EQ(metrics[step].at("rewards/accuracy_reward/std"), metrics[step].at("rewards/accuracy/std"));
  }
}

TEST_F(PythonCli, NumpyImportsAlthoughThePluginIsLoadedLocally) {
  write("numpy_reward.py", R"(
import numpy as np
def numpy_length(completion_ids, **kwargs):
    return list(np.asarray([len(ids) for ids in completion_ids], dtype=np.float64) / 8.0)
)");
  const Result run = host({"train", config("np", {python("numpy_reward.py", "numpy_length")}, nullptr)});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::vector<nlohmann::json> metrics = read_jsonl(dir_.path("np/metrics.jsonl"));
  ASSERT_EQ(metrics.size(), 3u);
  EXPECT_GT(metrics[0].at("rewards/numpy_length/mean").get<double>(), 0.0);
}

TEST_F(PythonCli, VirtualEnvFromTheEnvironmentIsHonoured) {
  // A venv of the embedded Python with a package of our own, and no system site-packages.
  const std::string venv = dir_.path("venv");
  ASSERT_EQ(std::system(("/usr/bin/python3 -m venv --without-pip " + venv).c_str()), 0);
  std::string site;
  for (const auto& entry : fs::directory_iterator(venv + "/lib")) site = entry.path().string() + "/site-packages";
  fs::create_directories(site + "/trl_venv_probe");
  std::ofstream(site + "/trl_venv_probe/__init__.py") << "BONUS = 0.5\n";
  write("venv_reward.py", R"(
import sys
import trl_venv_probe
def from_venv(completions, **kwargs):
    assert sys.prefix != sys.base_prefix, "not running in the venv"
    return [trl_venv_probe.BONUS] * len(completions)
)");
  const std::string path = config("venv_run", {python("venv_reward.py", "from_venv")}, nullptr);

  const Result in_venv = host({"train", path}, {{"VIRTUAL_ENV", venv}});
  ASSERT_EQ(in_venv.exit_code, 0) << in_venv.err;
  EXPECT_EQ(read_jsonl(dir_.path("venv_run/metrics.jsonl"))[0].at("rewards/from_venv/mean").get<double>(), 0.5);

  // Without it the package is not importable: a configuration error before training.
  const Result without = host({"train", path, "--set", "args.output_dir=" + dir_.path("no_venv")});
  EXPECT_EQ(without.exit_code, 2) << without.err;
  EXPECT_NE(without.err.find("No module named 'trl_venv_probe'"), std::string::npos) << without.err;
  EXPECT_FALSE(fs::exists(dir_.path("no_venv/model.safetensors")));
}

TEST_F(PythonCli, ConfigurationErrorsExitTwoBeforeTraining) {
  write("syntax.py", "def f(completions, **kwargs)\n    return [0.0] * len(completions)\n");
  write("ok.py", "def accuracy(completions, **kwargs):\n    return [0.0] * len(completions)\n");
  struct Case {
    nlohmann::json reward;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {python("missing.py", "f"), "file: no such file: " + dir_.path("missing.py")},
      {python("syntax.py", "f"), "syntax.py failed to import: SyntaxError"},
      {python("ok.py", "acuracy"), "ok.py defines no 'acuracy' (did you mean 'accuracy'?)"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string name = "bad" + std::to_string(i);
    const Result run = host({"train", config(name, {cases[i].reward}, nullptr)});
    EXPECT_EQ(run.exit_code, 2) << run.err;
    EXPECT_NE(run.err.find(cases[i].expected), std::string::npos) << run.err;
    EXPECT_NE(run.err.find("reward_funcs[0]: args"), std::string::npos) << "the message locates the spec: " << run.err;
    EXPECT_FALSE(fs::exists(dir_.path(name + "/metrics.jsonl"))) << "no step ran";
  }
}

TEST_F(PythonCli, PythonFailuresDuringTrainingArePluginErrors) {
  write("failing.py", R"(
def raises(completions, **kwargs):
    raise RuntimeError("judge unavailable")
def wrong_length(completions, **kwargs):
    return [1.0]
)");
  const Result raised = host({"train", config("raise", {python("failing.py", "raises")}, nullptr)});
  EXPECT_EQ(raised.exit_code, 3) << raised.err;
  EXPECT_NE(raised.err.find("plugin 'python': reward 'python': score: reward function 'raises' (failing.py) raised "
                            "RuntimeError: judge unavailable"),
            std::string::npos)
      << raised.err;
  EXPECT_NE(raised.err.find("failing.py\", line 3, in raises"), std::string::npos) << raised.err;

  const Result short_result = host({"train", config("short", {python("failing.py", "wrong_length")}, nullptr)});
  EXPECT_EQ(short_result.exit_code, 3) << short_result.err;
  EXPECT_NE(short_result.err.find("reward function 'wrong_length' (failing.py) returned 1 rewards for 12 completions; "
                                  "expected a list of floats or None, one per completion (12)"),
            std::string::npos)
      << short_result.err;
}

TEST_F(PythonCli, ConversationalDataGivesMessageLists) {
  {
    std::ofstream chat(dir_.path("chat.jsonl"));
    for (int i = 0; i < 6; ++i)
      chat << nlohmann::json{{"prompt", nlohmann::json::array({{{"role", "user"}, {"content", "Count to " + std::to_string(i)}}})},
                             {"answer", i}}
                  .dump()
           << "\n";
  }
  write("chat_code.py", R"(
def chat_reward(prompts, completions, answer, **kwargs):
    for prompt, completion, a in zip(prompts, completions, answer):
        assert prompt == [{"role": "user", "content": "Count to %d" % a}], prompt
        assert isinstance(completion, list) and len(completion) == 1, completion
        assert completion[0]["role"] == "assistant" and isinstance(completion[0]["content"], str), completion
    return [float(len(c[0]["content"])) for c in completions]

def chat_filter(group_completions, group_rewards):
    for group, rewards in zip(group_completions, group_rewards):
        for completion, reward in zip(group, rewards):
            assert completion[0]["role"] == "assistant", completion
    return [[-r for r in rewards] for rewards in group_rewards]
)");
  const std::string path = config("chat", {python("chat_code.py", "chat_reward")}, python("chat_code.py", "chat_filter"));
  const Result run = host({"train", path, "--set", "train_dataset=" + dir_.path("chat.jsonl")});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(read_jsonl(dir_.path("chat/completions.jsonl")).size(), 24u);
}

TEST_F(PythonCli, NoneRewardsAreNotApplicable) {
  write("sometimes.py", R"(
def only_even(prompts, completions, answer, **kwargs):
    return [1.0 if a % 2 == 0 else None for a in answer]
)");
  const Result run = host({"train", config("none", {{{"name", "accuracy"}}, python("sometimes.py", "only_even")}, nullptr)});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  // Rows with an odd answer are NaN for this function, so its mean over the rows it scored is exactly 1.
  const std::vector<nlohmann::json> metrics = read_jsonl(dir_.path("none/metrics.jsonl"));
  EXPECT_EQ(metrics[0].at("rewards/only_even/mean").get<double>(), 1.0);
}

TEST_F(PythonCli, PluginsListShowsPythonAsExperimental) {
  const Result list = host({"plugins", "list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  bool found = false;
  const nlohmann::json listing = nlohmann::json::parse(list.out);
  for (const nlohmann::json& p : listing.at("plugins")) {
    if (p.value("name", std::string()) != "python") continue;
    found = true;
    EXPECT_EQ(p.value("stability", std::string()), "experimental") << p.dump();
  }
  EXPECT_TRUE(found) << list.out;
}

TEST_F(PythonCli, EveryRankOfALaunchRunsPython) {
  write("rank_reward.py", R"(
import os
def rank_marker(completions, **kwargs):
    here = os.path.dirname(os.path.abspath(__file__))
    open(os.path.join(here, "rank-%s.seen" % os.environ.get("RANK", "none")), "a").close()
    return [0.0] * len(completions)
)");
  const std::string path = config("launch", {python("rank_reward.py", "rank_marker")},
                                  python(example("group_filter.py"), "GroupFilter"),
                                  {{"per_device_train_batch_size", 8}, {"max_steps", 1}});
  const Result run = host({"launch", "--nproc-per-node", "2", "--master-port", "0", "train", path});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(fs::exists(dir_.path("rank-0.seen")));
  EXPECT_TRUE(fs::exists(dir_.path("rank-1.seen")));
  const std::vector<nlohmann::json> rows = read_jsonl(dir_.path("launch/completions.jsonl"));
  ASSERT_FALSE(rows.empty());
  for (size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i].at("kept").get<bool>(), i % 4 >= 2) << "row " << i;
}

}  // namespace
