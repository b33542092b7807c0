// Black-box tests of the `gfpo` trainer through the real trl-host: a short GFPO run from a run config with
// built-in rewards and the built-in length filter, a run whose group filter comes from a third-party plugin
// (tests/gfpo_fixtures), and the configuration errors a user meets first.
#include <stdlib.h>
#include <sys/wait.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "host_process.h"

namespace {

namespace fs = std::filesystem;

struct HostRun {
  int exit_code = -1;  // -1 if killed
  std::string err;     // stderr
};

std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

using host_process::read_jsonl;

// A private temp folder with a tiny model and a prompt dataset; removed at scope exit.
class GfpoCli : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "trl-gfpo-cli-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    const HostRun init = host({"init-model", "--preset", "tiny", "--out", dir_ + "/model", "--seed", "5"});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    std::ofstream data(dir_ + "/prompts.jsonl");
    for (int i = 0; i < 6; ++i)
      data << nlohmann::json{{"prompt", "What is " + std::to_string(i) + " plus 1? "}, {"answer", i + 1}}.dump() << "\n";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Runs trl-host with its shipped plugins and no plugin policy variables from the caller's environment.
  HostRun host(const std::vector<std::string>& args) {
    const std::string err_file = dir_ + "/stderr." + std::to_string(++serial_);
    std::string command =
        "env -u TRL_PLUGIN_PATH -u TRL_PLUGIN_SYSTEM_PATH -u TRL_STABLE_ONLY -u TRL_EXPERIMENTAL_SILENCE "
        "OMP_NUM_THREADS=1 " + quoted(TRL_HOST_EXE);
    for (const std::string& a : args) command += " " + quoted(a);
    command += " >/dev/null 2>" + quoted(err_file);
    const int status = std::system(command.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(err_file)};
  }

  // A gfpo run config: G 4, 3 prompts per generation, 8-token completions, 3 steps logged every step.
  std::string write_config(const std::string& name, const nlohmann::json& extra_args, const nlohmann::json& filter) {
    nlohmann::json args = {{"output_dir", dir_ + "/" + name},
                           {"max_steps", 3},
                           {"num_generations", 4},
                           {"per_device_train_batch_size", 12},
                           {"max_completion_length", 8},
                           {"learning_rate", 1e-3},
                           {"logging_steps", 1},
                           {"save_steps", 0},
                           {"seed", 0}};
    args.update(extra_args);
    nlohmann::json config = {{"trainer", "gfpo"},
                             {"model", dir_ + "/model"},
                             {"train_dataset", dir_ + "/prompts.jsonl"},
                             {"reward_funcs",
                              {{{"name", "accuracy"}, {"args", {{"column", "answer"}}}},
                               {{"name", "length_penalty"}, {"args", {{"max_length", 8}}}}}},
                             {"args", args}};
    if (!filter.is_null()) config["group_filter"] = filter;
    const std::string path = dir_ + "/" + name + ".json";
    std::ofstream(path) << config.dump(2) << "\n";
    return path;
  }

  std::string dir_;
  int serial_ = 0;
};

// completions.jsonl rows grouped by (step, prompt).
std::map<std::pair<int64_t, std::string>, std::vector<nlohmann::json>> groups_of(const std::vector<nlohmann::json>& rows) {
  std::map<std::pair<int64_t, std::string>, std::vector<nlohmann::json>> out;
  for (const nlohmann::json& row : rows)
    out[{row.at("step").get<int64_t>(), row.at("prompt").get<std::string>()}].push_back(row);
  return out;
}

TEST_F(GfpoCli, ShortRunWithBuiltInRewardsAndLengthFilter) {
  const std::string config = write_config("run", {{"num_remains_in_group", 2}}, {{"name", "length"}});
  const HostRun run = host({"train", config});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("gfpo"), std::string::npos) << "the experimental warning names the plugin";

  const std::vector<nlohmann::json> metrics = read_jsonl(dir_ + "/run/metrics.jsonl");
  ASSERT_EQ(metrics.size(), 4u);  // 3 steps + the summary
  for (size_t i = 0; i < 3; ++i) {
    for (const char* name : {"loss", "reward", "reward_std", "rewards/accuracy/mean", "rewards/length_penalty/mean",
                             "completions/mean_length", "completions/clipped_ratio", "num_tokens", "entropy",
                             "frac_reward_zero_std"})
      EXPECT_TRUE(metrics[i].contains(name)) << name << " missing at step " << i + 1;
    // length_penalty is linear in [-1, 0].
    const double penalty = metrics[i].at("rewards/length_penalty/mean").get<double>();
    EXPECT_LE(penalty, 0.0);
    EXPECT_GE(penalty, -1.0);
  }
  EXPECT_TRUE(fs::exists(dir_ + "/run/model.safetensors"));

  // Every step logged its generation: 3 prompts x G 4 rows, exactly R = 2 kept per prompt, the shortest ones.
  const std::vector<nlohmann::json> rows = read_jsonl(dir_ + "/run/completions.jsonl");
  ASSERT_EQ(rows.size(), 36u);
  for (const auto& [key, group] : groups_of(rows)) {
    ASSERT_EQ(group.size(), 4u) << "step " << key.first << " prompt " << key.second;
    int64_t longest_kept = 0, shortest_dropped = 1 << 30;
    int kept = 0;
    for (const nlohmann::json& row : group) {
      const int64_t length = row.at("length").get<int64_t>();
      if (row.at("kept").get<bool>()) {
        ++kept;
        longest_kept = std::max(longest_kept, length);
      } else {
        shortest_dropped = std::min(shortest_dropped, length);
      }
    }
    EXPECT_EQ(kept, 2);
    EXPECT_LE(longest_kept, shortest_dropped) << "the length filter keeps the shortest";
  }
}

TEST_F(GfpoCli, LogCompletionIdsWritesAReplayLog) {
  const std::string config = write_config("replay", {{"log_completion_ids", true}}, nullptr);
  const HostRun run = host({"train", config});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::vector<nlohmann::json> rows = read_jsonl(dir_ + "/replay/completions.jsonl");
  ASSERT_EQ(rows.size(), 36u);  // 3 generations x 12 rows
  std::map<int64_t, std::vector<int64_t>> prompt_ids_of_row;
  for (const nlohmann::json& row : rows) {
    const auto completion = row.at("completion_ids").get<std::vector<int64_t>>();
    EXPECT_EQ(static_cast<int64_t>(completion.size()), row.at("length").get<int64_t>());
    const int64_t dataset_row = row.at("row").get<int64_t>();
    ASSERT_GE(dataset_row, 0);
    ASSERT_LT(dataset_row, 6);
    // The prompts file has "What is i plus 1? " on line i: the byte tokenizer's ids spell the text.
    const auto prompt_ids = row.at("prompt_ids").get<std::vector<int64_t>>();
    EXPECT_EQ(row.at("prompt").get<std::string>(), "What is " + std::to_string(dataset_row) + " plus 1? ");
    EXPECT_FALSE(prompt_ids.empty());
    auto [it, fresh] = prompt_ids_of_row.emplace(dataset_row, prompt_ids);
    EXPECT_EQ(it->second, prompt_ids) << "one tokenization per dataset row";
  }
  // Without the option the rows stay as they were.
  const std::string plain = write_config("plain", nlohmann::json::object(), nullptr);
  ASSERT_EQ(host({"train", plain}).exit_code, 0);
  for (const nlohmann::json& row : read_jsonl(dir_ + "/plain/completions.jsonl"))
    EXPECT_FALSE(row.contains("completion_ids") || row.contains("prompt_ids") || row.contains("row"));
}

TEST_F(GfpoCli, CustomGroupFilterFromATestPlugin) {
  const std::string plugin = std::string(TRL_BINARY_DIR) + "/tests/gfpo_fixtures/plugins/gfpo_test_filters.so";
  ASSERT_TRUE(fs::exists(plugin)) << plugin;
  const std::string record = dir_ + "/groups.jsonl";
  const std::string config = write_config("custom", {{"num_remains_in_group", 2}, {"max_steps", 2}},
                                          {{"name", "recording_longest"}, {"args", {{"record", record}}}});
  const HostRun run = host({"train", config, "--plugin", plugin});
  ASSERT_EQ(run.exit_code, 0) << run.err;

  // The plugin's filter saw true groups: 2 generations x 3 prompts, each with its own G = 4 completions.
  const std::vector<nlohmann::json> groups = read_jsonl(record);
  ASSERT_EQ(groups.size(), 6u);
  const std::vector<nlohmann::json> rows = read_jsonl(dir_ + "/custom/completions.jsonl");
  ASSERT_EQ(rows.size(), 24u);
  for (size_t k = 0; k < groups.size(); ++k) {
    ASSERT_EQ(groups[k].at("completions").size(), 4u);
    for (size_t j = 0; j < 4; ++j) {
      const nlohmann::json& row = rows[4 * k + j];
      EXPECT_EQ(row.at("prompt"), groups[k].at("prompt")) << "group " << k << " row " << j;
      EXPECT_EQ(row.at("completion"), groups[k].at("completions")[j]);
      EXPECT_EQ(row.at("length"), groups[k].at("lengths")[j]);
    }
  }
  // And its choice was applied: the longest two of each group are the kept rows.
  for (const auto& [key, group] : groups_of(rows)) {
    int64_t shortest_kept = 1 << 30, longest_dropped = 0;
    for (const nlohmann::json& row : group) {
      const int64_t length = row.at("length").get<int64_t>();
      if (row.at("kept").get<bool>()) shortest_kept = std::min(shortest_kept, length);
      else longest_dropped = std::max(longest_dropped, length);
    }
    EXPECT_GE(shortest_kept, longest_dropped) << "step " << key.first << " prompt " << key.second;
  }
}

// TRL 1.16's other loss types, the entropy bonus and TR-DPO from a run config: each trains and logs its own
// metrics; with sync_ref_model (every step) the checkpoint carries the moved reference.
TEST_F(GfpoCli, TrlLossTypesEntropyBonusAndReferenceSync) {
  const std::vector<std::pair<std::string, nlohmann::json>> runs = {
      {"cispo", {{"loss_type", "cispo"}, {"epsilon_high", 5.0}, {"entropy_coef", 0.01}}},
      {"sapo", {{"loss_type", "sapo"}, {"use_adaptive_entropy", true}, {"entropy_target", 10.0}}},
      {"luspo", {{"loss_type", "luspo"}, {"importance_sampling_level", "sequence"}, {"beta", 0.04},
                 {"sync_ref_model", true}, {"ref_model_sync_steps", 1}, {"save_steps", 3}}},
      {"vespo", {{"loss_type", "vespo"}, {"vespo_k_neg", 2.0}}}};
  for (const auto& [name, extra] : runs) {
    const HostRun run = host({"train", write_config(name, extra, nullptr)});
    ASSERT_EQ(run.exit_code, 0) << name << ": " << run.err;
    const std::vector<nlohmann::json> metrics = read_jsonl(dir_ + "/" + name + "/metrics.jsonl");
    ASSERT_EQ(metrics.size(), 4u) << name;
    const nlohmann::json& step = metrics[0];
    EXPECT_TRUE(std::isfinite(step.at("loss").get<double>())) << name;
    EXPECT_EQ(step.contains("cispo_clip_ratio"), name == "cispo") << name;
    EXPECT_EQ(step.contains("vespo/phi_seq_mean"), name == "vespo") << name;
    EXPECT_EQ(step.contains("clip_ratio/region_mean"), name == "luspo") << name;
    const bool bonus = name == "cispo" || name == "sapo";
    EXPECT_EQ(step.contains("entropy_coef"), bonus) << name;
    EXPECT_EQ(step.contains("policy_loss"), bonus) << name;
  }
  // sapo's adaptive controller: 0 before the first window, +0.005 per step while the entropy is below 10 nats.
  const std::vector<nlohmann::json> sapo = read_jsonl(dir_ + "/sapo/metrics.jsonl");
  EXPECT_NEAR(sapo[2].at("entropy_coef").get<double>(), 0.015, 1e-12);
  EXPECT_TRUE(fs::is_directory(dir_ + "/luspo/checkpoint-3/ref_model"));
  EXPECT_TRUE(fs::exists(dir_ + "/luspo/checkpoint-3/gfpo_state.json"));
}

TEST_F(GfpoCli, SyncRefModelWithoutBetaExitsWithAConfigError) {
  const HostRun run = host({"train", write_config("sync", {{"sync_ref_model", true}}, nullptr)});
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_NE(run.err.find("sync_ref_model"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("beta"), std::string::npos) << run.err;
}

TEST_F(GfpoCli, RemainsWithoutFilterExitsWithAConfigError) {
  const std::string config = write_config("bad", {{"num_remains_in_group", 2}}, nullptr);
  const HostRun run = host({"train", config});
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_NE(run.err.find("group_filter"), std::string::npos) << run.err;
  EXPECT_FALSE(fs::exists(dir_ + "/bad/model.safetensors"));
}

TEST_F(GfpoCli, UnknownGroupFilterIsNamed) {
  const std::string config = write_config("typo", {{"num_remains_in_group", 2}}, {{"name", "lenght"}});
  const HostRun run = host({"train", config});
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_NE(run.err.find("lenght"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("length"), std::string::npos) << "a did-you-mean: " << run.err;
}

}  // namespace
