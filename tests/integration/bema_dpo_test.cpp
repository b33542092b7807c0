// End to end through the real trl-host: a DPO run with the `bema` callback refreshing the reference model
// (spec/trl-reference.md §2.2). One training pair and batch size 1, so every step scores the same pair and
// the reference log-prob, recovered from the logged metrics as logps/chosen − rewards/chosen / β, can only
// change when the reference model is overwritten.
#include <stdlib.h>
#include <sys/wait.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "trl/sdk/model/causal_lm.h"

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

// A private temp folder holding a tiny model, the data and the runs; removed at scope exit.
class BemaDpoEndToEnd : public ::testing::Test {
 public:
  static constexpr double kBeta = 0.1;


 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "trl-bema-dpo-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    const HostRun init = host({"init-model", "--preset", "tiny", "--out", dir_ + "/model", "--seed", "3"});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    std::ofstream(dir_ + "/pair.jsonl") << R"({"prompt": "Open the door?", "chosen": " Yes, gladly.", )"
                                        << R"("rejected": " No."})" << "\n";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Runs trl-host with only its shipped plugins (the default folder next to the binary) and no policy
  // variables from the caller's environment.
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

  // A DPO run config over the one pair, logging every step, with `bema_args` for the callback;
  // `extra_args` are merged into "args".
  std::string write_config(const std::string& name, const nlohmann::json& bema_args,
                           const nlohmann::json& extra_args = nlohmann::json::object()) {
    nlohmann::json args = {{"output_dir", dir_ + "/" + name},
                           {"max_steps", 7},
                           {"per_device_train_batch_size", 1},
                           {"learning_rate", 0.01},
                           {"lr_scheduler_type", "constant"},
                           {"logging_steps", 1},
                           {"save_steps", 0},
                           {"beta", kBeta},
                           {"seed", 0}};
    args.update(extra_args);
    const nlohmann::json config = {{"trainer", "dpo"},
                                   {"model", dir_ + "/model"},
                                   {"train_dataset", dir_ + "/pair.jsonl"},
                                   {"args", args},
                                   {"callbacks", {{{"name", "bema"}, {"args", bema_args}}}}};
    const std::string path = dir_ + "/" + name + ".json";
    std::ofstream(path) << config.dump(2) << "\n";
    return path;
  }

  std::string dir_;
  int serial_ = 0;
};

// Three runs of the tiny model: the ctest label `slow`.
class BemaDpoEndToEndSlow : public BemaDpoEndToEnd {};

// The chosen completion's reference log-prob per step, from metrics.jsonl (one pair, so the means are it).
std::map<int64_t, double> reference_logps(const std::string& metrics_path, double beta) {
  std::map<int64_t, double> out;
  std::ifstream in(metrics_path);
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json entry = nlohmann::json::parse(line);
    if (!entry.contains("rewards/chosen")) continue;
    out[entry.at("step").get<int64_t>()] =
        entry.at("logps/chosen").get<double>() - entry.at("rewards/chosen").get<double>() / beta;
  }
  return out;
}

}  // namespace

TEST_F(BemaDpoEndToEnd, ReferenceChangesExactlyAfterRefreshStepsAndBemaDirLoads) {
  // BEMA updates every step; the reference is overwritten at the end of steps 3 and 6, so the reference
  // log-probs (computed at the start of each step) change at steps 4 and 7 and nowhere else.
  const std::string config =
      write_config("run", {{"update_freq", 1}, {"update_ref_model", true}, {"ref_model_update_freq", 3}});
  const HostRun run = host({"train", config});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("'bema'"), std::string::npos) << "the experimental warning names the plugin:\n" << run.err;

  const std::map<int64_t, double> ref = reference_logps(dir_ + "/run/metrics.jsonl", kBeta);
  ASSERT_EQ(ref.size(), 7u);
  // Recovering the reference from two float32-derived metrics leaves rounding of a few ulps of the
  // log-prob; a refresh moves it by orders of magnitude more.
  const double tol = 1e-4 * std::max(1.0, std::abs(ref.at(1)));
  for (int64_t step = 2; step <= 7; ++step) {
    const double change = std::abs(ref.at(step) - ref.at(step - 1));
    if (step == 4 || step == 7)
      EXPECT_GT(change, 100 * tol) << "step " << step << ": the refresh after step " << step - 1 << " had no effect";
    else
      EXPECT_LT(change, tol) << "step " << step << ": the reference changed without a refresh";
  }
  const std::string train_log = slurp(dir_ + "/run/train.log");
  EXPECT_NE(train_log.find("reference model overwritten with the BEMA weights at step 3"), std::string::npos);
  EXPECT_NE(train_log.find("reference model overwritten with the BEMA weights at step 6"), std::string::npos);

  // {output_dir}/bema is a complete model directory that loads back, and it is not the final policy.
  const std::string bema_dir = dir_ + "/run/bema";
  for (const char* file : {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"})
    EXPECT_TRUE(fs::is_regular_file(bema_dir + "/" + file)) << file;
  const std::unique_ptr<trl::CausalLM> bema = trl::CausalLM::from_pretrained(bema_dir);
  const std::unique_ptr<trl::CausalLM> policy = trl::CausalLM::from_pretrained(dir_ + "/run");
  ASSERT_EQ(bema->named_parameters().size(), policy->named_parameters().size());
  bool differs = false;
  for (size_t i = 0; i < bema->named_parameters().size(); ++i)
    differs = differs || !bema->named_parameters()[i].second.equal(policy->named_parameters()[i].second);
  EXPECT_TRUE(differs) << "the BEMA weights equal the final policy's";
}

TEST_F(BemaDpoEndToEnd, RefusesRefModelUpdateWithPrecomputedReference) {
  const std::string config = write_config("precomputed", {{"update_ref_model", true}},
                                          {{"precompute_ref_log_probs", true}});
  const HostRun run = host({"train", config});
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_NE(run.err.find("update_ref_model"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("no separate reference model"), std::string::npos) << run.err;
}

// A run stopped after step 3 and resumed from its checkpoint ends with exactly the BEMA weights and
// reference log-probs of an uninterrupted run: bema_state.safetensors carries θ₀, the EMA, the running
// weights and the refreshed reference across the resume.
TEST_F(BemaDpoEndToEndSlow, ResumedRunMatchesUninterruptedRun) {
  const nlohmann::json bema = {{"update_freq", 2}, {"update_ref_model", true}, {"ref_model_update_freq", 2}};
  const HostRun whole = host({"train", write_config("whole", bema)});
  ASSERT_EQ(whole.exit_code, 0) << whole.err;

  const HostRun first = host({"train", write_config("split", bema, {{"max_steps", 3}, {"save_steps", 3}})});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  ASSERT_TRUE(fs::is_regular_file(dir_ + "/split/checkpoint-3/bema_state.safetensors"));
  const HostRun second = host({"train", write_config("split", bema, {{"resume_from_checkpoint", "last"}})});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(slurp(dir_ + "/split/train.log").find("bema: restored"), std::string::npos);

  const std::map<int64_t, double> ref_whole = reference_logps(dir_ + "/whole/metrics.jsonl", kBeta);
  const std::map<int64_t, double> ref_split = reference_logps(dir_ + "/split/metrics.jsonl", kBeta);
  ASSERT_EQ(ref_whole.size(), 7u);
  ASSERT_EQ(ref_split.size(), 7u);
  for (int64_t step = 1; step <= 7; ++step) EXPECT_EQ(ref_split.at(step), ref_whole.at(step)) << "step " << step;

  const std::unique_ptr<trl::CausalLM> bema_whole = trl::CausalLM::from_pretrained(dir_ + "/whole/bema");
  const std::unique_ptr<trl::CausalLM> bema_split = trl::CausalLM::from_pretrained(dir_ + "/split/bema");
  ASSERT_EQ(bema_whole->named_parameters().size(), bema_split->named_parameters().size());
  for (size_t i = 0; i < bema_whole->named_parameters().size(); ++i)
    EXPECT_TRUE(bema_whole->named_parameters()[i].second.equal(bema_split->named_parameters()[i].second))
        << bema_whole->named_parameters()[i].first;
}
