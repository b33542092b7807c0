// Data-parallel training through `trl-host launch`, black box over loopback: 2 ranks x batch b train
// exactly as 1 rank x batch 2b (same seed, same rows per step), a checkpoint of 2 ranks refuses a 1-rank
// resume, and a rank killed with SIGKILL ends the whole job with an error in bounded time.
#include <signal.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <regex>
#include <thread>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "host_process.h"
#include "trl/sdk/model/safetensors.h"

namespace {
using host_process::Result;
using Clock = std::chrono::steady_clock;

using host_process::read_jsonl;

// Every tensor of `a`'s and `b`'s model.safetensors agrees to 1e-5 but for the odd element (at most one
// in 1000, and by less than a quarter of one step at lr 1e-3), and training moved the weights away from
// `initial`'s by more than 1e-4 (so the comparison is of trained weights). Why the odd element: AdamW
// moves an element by about lr per step whatever its gradient's size, so where the gradient is near
// zero, float rounding between a rank's batch and the whole batch (other matmul shapes, another
// attention path for another sequence length, shared prompts computed once per batch) can flip the
// step's direction: up to 1.1e-4 seen after 2 steps. A wrong row or group moves most elements by ~lr.
void expect_same_trained_weights(const std::string& a, const std::string& b, const std::string& initial) {
  const trl::SafetensorsFile wa(a + "/model.safetensors");
  const trl::SafetensorsFile wb(b + "/model.safetensors");
  const trl::SafetensorsFile w0(initial + "/model.safetensors");
  ASSERT_EQ(wa.entries().size(), wb.entries().size());
  double moved = 0.0;
  for (const auto& entry : wa.entries()) {
    const at::Tensor x = wa.load(entry.name, at::kFloat), y = wb.load(entry.name, at::kFloat);
    const at::Tensor diff = (x - y).abs();
    EXPECT_LE(diff.max().item<double>(), 2.5e-4) << entry.name;
    EXPECT_LE(diff.gt(1e-5).sum().item<int64_t>(), std::max<int64_t>(1, x.numel() / 1000)) << entry.name;
    moved = std::max(moved, (x - w0.load(entry.name, at::kFloat)).abs().max().item<double>());
  }
  EXPECT_GT(moved, 1e-4);  // the weights did change
}

// One BLAS thread in every child, as ctest sets it: OpenBLAS's own pool ignores num_threads, and its
// thread count changes how a sgemm splits its sums; with 4 vs 8 rows per process that reorders float sums,
// which AdamW can blow up past 1e-5 on weights whose gradient is near zero.
void pin_blas_threads() { setenv("OMP_NUM_THREADS", "1", 1); }

class Distributed : public ::testing::Test {
 protected:
  void SetUp() override {
    pin_blas_threads();
    const Result init = host({"init-model", "--preset", "tiny", "--out", dir_.path("model"), "--seed", "1"});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    // 512 pairs: 4 rows per global batch divide every epoch evenly, so no batch is padded.
    nlohmann::json config = {{"trainer", "dpo"},
                             {"model", dir_.path("model")},
                             {"train_dataset", std::string(TRL_TEST_DATA_DIR) + "/../examples/data/prefs_train.jsonl"},
                             {"args",
                              {{"max_steps", 3},
                               {"learning_rate", 1e-3},
                               {"logging_steps", 1},
                               {"save_steps", 3},
                               {"seed", 7},
                               {"num_threads", 1},
                               {"max_length", 48}}}};
    std::ofstream(config_path()) << config.dump(2);
  }
  std::string config_path() const { return dir_.path("run.json"); }
  Result host(const std::vector<std::string>& args) { return host_process::run(dir_.path(), args); }
  host_process::TempDir dir_{"dist"};
};

// The reference: one process, 4 pairs per step. The job: 2 ranks, 2 pairs each, the same 4 pairs per step
// (the sampler's global batch), gradients averaged. Float32 sums in another order: losses and weights
// agree to 1e-5 (metrics to 1e-5 relative), not bit for bit.
TEST_F(Distributed, TwoRanksTrainAsOneRankWithTheDoubleBatch) {
  const Result one = host({"train", config_path(), "--set", "args.per_device_train_batch_size=4", "--set",
                           "args.output_dir=" + dir_.path("one")});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const Result two = host({"launch", "--nproc-per-node", "2", "--master-port", "0", "train", config_path(), "--set",
                           "args.per_device_train_batch_size=2", "--set", "args.output_dir=" + dir_.path("two")});
  ASSERT_EQ(two.exit_code, 0) << two.err;

  const std::vector<nlohmann::json> a = read_jsonl(dir_.path("one/metrics.jsonl"));
  const std::vector<nlohmann::json> b = read_jsonl(dir_.path("two/metrics.jsonl"));
  ASSERT_EQ(a.size(), 4u);  // three steps and the summary, written once (rank 0 alone)
  ASSERT_EQ(b.size(), 4u) << two.err;
  for (size_t step = 0; step < 3; ++step) {
    EXPECT_NEAR(a[step]["loss"].get<double>(), b[step]["loss"].get<double>(), 1e-5) << "step " << step + 1;
    // Metrics of any size: 1e-5 relative (logps near -135 are float32 values 1.5e-5 apart).
    for (const char* key : {"grad_norm", "rewards/chosen", "rewards/margins", "rewards/accuracies", "logps/chosen",
                            "logps/rejected", "entropy", "mean_token_accuracy", "logits/chosen"}) {
      const double x = a[step][key].get<double>(), y = b[step][key].get<double>();
      EXPECT_NEAR(x, y, 1e-5 * std::max(1.0, std::abs(x))) << key << " at step " << step + 1;
    }
    // num_tokens counts every rank's tokens.
    EXPECT_EQ(a[step]["num_tokens"].get<double>(), b[step]["num_tokens"].get<double>()) << "step " << step + 1;
  }
  EXPECT_NEAR(a[0]["loss"].get<double>(), std::log(2.0), 1e-6);  // policy == reference at step 1
  EXPECT_GT(std::abs(a[2]["loss"].get<double>() - std::log(2.0)), 1e-4);  // and it did train

  expect_same_trained_weights(dir_.path("one"), dir_.path("two"), dir_.path("model"));

  // A 2-rank checkpoint holds both ranks' RNG states and refuses a resume with another world size.
  EXPECT_TRUE(trl::SafetensorsFile(dir_.path("two/checkpoint-3/rng_state.safetensors")).contains("cpu_rank1"));
  const Result resume = host({"train", config_path(), "--resume", "--set", "args.max_steps=4", "--set",
                              "args.per_device_train_batch_size=4", "--set", "args.output_dir=" + dir_.path("two")});
  EXPECT_EQ(resume.exit_code, 1);
  EXPECT_NE(resume.err.find("written by 2 process(es), resumed with 1"), std::string::npos) << resume.err;
}

// Evaluation and precompute_ref_log_probs are shared out over the ranks and gathered: the precomputed
// reference columns, the eval loss and every eval metric of 2 ranks x 2 pairs equal 1 rank x 4 pairs.
TEST_F(Distributed, EvaluationAndPrecomputedReferenceMatchOneRank) {
  // A reference unlike the policy: at step 1 the rewards are then not float32 noise (policy == reference
  // gives rewards of +-1e-7 whose sign, hence rewards/accuracies, depends on the batch shapes).
  const Result ref = host({"init-model", "--preset", "tiny", "--out", dir_.path("ref"), "--seed", "2"});
  ASSERT_EQ(ref.exit_code, 0) << ref.err;
  nlohmann::json config = nlohmann::json::parse(host_process::slurp(config_path()));
  config["ref_model"] = dir_.path("ref");
  config["eval_dataset"] = std::string(TRL_TEST_DATA_DIR) + "/../examples/data/prefs_eval.jsonl";
  config["args"].update({{"eval_strategy", "steps"}, {"eval_steps", 3}, {"precompute_ref_log_probs", true},
                         {"save_steps", 0}});
  const std::string path = dir_.path("eval.json");
  std::ofstream(path) << config.dump(2);
  const Result one = host({"train", path, "--set", "args.per_device_train_batch_size=4", "--set",
                           "args.per_device_eval_batch_size=4", "--set", "args.output_dir=" + dir_.path("one")});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const Result two = host({"launch", "--nproc-per-node", "2", "--master-port", "0", "train", path, "--set",
                           "args.per_device_train_batch_size=2", "--set", "args.per_device_eval_batch_size=2", "--set",
                           "args.output_dir=" + dir_.path("two")});
  ASSERT_EQ(two.exit_code, 0) << two.err;
  const std::vector<nlohmann::json> a = read_jsonl(dir_.path("one/metrics.jsonl"));
  const std::vector<nlohmann::json> b = read_jsonl(dir_.path("two/metrics.jsonl"));
  ASSERT_EQ(a.size(), 5u);  // three steps, the evaluation at step 3, the summary
  ASSERT_EQ(b.size(), 5u) << two.err;
  ASSERT_TRUE(a[3].contains("eval_loss") && a[3].contains("eval_rewards/accuracies")) << a[3].dump();
  for (size_t line = 0; line < a.size(); ++line) {
    for (const auto& [key, value] : a[line].items()) {
      if (key.find("runtime") != std::string::npos || key.find("per_second") != std::string::npos) continue;
      ASSERT_TRUE(b[line].contains(key)) << key << " missing from the 2-rank line " << line;
      const double x = value.get<double>(), y = b[line][key].get<double>();
      EXPECT_NEAR(x, y, 1e-5 * std::max(1.0, std::abs(x))) << key << " on line " << line;
    }
  }
}

// kill -9 of rank 1 mid-run: the launcher reports it, rank 0 ends, and the job exits with rank 1's code well
// within 30 s. Rank 0 ends one of two ways (docs/distributed.md, "Failures"): its next collective fails at
// once with its own error (its peer's sockets close), or, where Gloo leaves a send queued on the dead peer's
// connection waiting for the collective timeout (Gloo fails only bound buffers' queued sends when a
// connection closes; seen with LibTorch 2.15), the launcher terminates it after the grace period. Never by
// SIGPIPE (signal 13: a write to the dead peer's socket, CI saw it), never a hang.
TEST_F(Distributed, KilledRankEndsTheJobWithAnError) {
  const std::string run_dir = dir_.path("killed");
  const std::string out = dir_.path("launch.stdout"), err = dir_.path("launch.stderr");
  const pid_t launcher = fork();
  if (launcher == 0)
    host_process::exec_host({"launch", "--nproc-per-node", "2", "--master-port", "0", "--grace-period", "10", "train",
                             config_path(), "--set", "args.max_steps=100000", "--set", "args.save_steps=0", "--set",
                             "args.per_device_train_batch_size=2", "--set", "args.output_dir=" + run_dir},
                            {}, out, err);
  ASSERT_GT(launcher, 0);

  // Wait until training runs (a logged step), then find rank 1's pid in the launcher's log.
  const Clock::time_point began = Clock::now();
  pid_t rank1 = -1;
  while (Clock::now() - began < std::chrono::seconds(30)) {
    std::smatch m;
    const std::string log = host_process::slurp(err);
    if (rank1 < 0 && std::regex_search(log, m, std::regex("rank 1: pid ([0-9]+)"))) rank1 = std::stoi(m[1]);
    if (rank1 > 0 && !read_jsonl(run_dir + "/metrics.jsonl").empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_GT(rank1, 0) << host_process::slurp(err);
  ASSERT_EQ(kill(rank1, SIGKILL), 0);
  const Clock::time_point killed = Clock::now();

  int status = 0;
  bool ended = false;
  while (Clock::now() - killed < std::chrono::seconds(30)) {
    if (waitpid(launcher, &status, WNOHANG) == launcher) {
      ended = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!ended) {
    kill(launcher, SIGKILL);
    waitpid(launcher, &status, 0);
  }
  const std::string log = host_process::slurp(err);
  ASSERT_TRUE(ended) << "the job still ran 30 s after a rank was killed:\n" << log;
  const double took = std::chrono::duration<double>(Clock::now() - killed).count();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGKILL) << log;  // the worst exit code: rank 1's
  EXPECT_NE(log.find("rank 1 (pid " + std::to_string(rank1) + ") was killed by signal 9"), std::string::npos) << log;
  EXPECT_EQ(log.find("killed by signal 13"), std::string::npos) << log;
  const bool own_error = std::regex_search(log, std::regex("distributed: rank 0 of 2: [a-z_ ]+ failed"));
  const bool terminated = log.find("launch: terminating the remaining rank(s) after the grace period") != std::string::npos;
  std::cout << "rank 0 ended " << (own_error ? "with its own error" : "after the grace period") << ", " << took
            << " s after the kill\n";
  if (own_error) {  // rank 0's collective failed: before the launcher's 10 s grace period
    EXPECT_LT(took, 10.0) << log;
    EXPECT_FALSE(terminated) << log;
  } else {  // rank 0 waited on Gloo: SIGTERM after the 10 s grace, SIGKILL 5 s later
    EXPECT_TRUE(terminated) << "rank 0 neither failed with its own error nor was terminated:\n" << log;
    EXPECT_LT(took, 10.0 + 5.0 + 5.0) << log;
  }
}

// gfpo over ranks (docs/distributed.md): each rank generates the whole groups of its own prompts, every
// group sampled with its own seed, and the rewards, lengths and loss metrics are gathered, so 2 ranks x 1
// prompt (G 4 rows each) train as 1 rank x 2 prompts: the same completions, losses, metrics, eval metrics
// and final weights. scale_rewards "batch" needs the gathered rewards (its std spans the whole batch),
// beta the reference model on every rank; a second case filters the groups (GFPO, token_efficiency). The
// tiny random model writes 8 bytes of noise: the length penalty in characters (U+FFFD for a broken byte
// sequence) is what varies within a group.
class DistributedGfpo : public ::testing::Test {
 protected:
  void SetUp() override {
    pin_blas_threads();
    const Result init = host({"init-model", "--preset", "tiny", "--out", dir_.path("model"), "--seed", "3"});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    std::ofstream prompts(dir_.path("prompts.jsonl"));
    for (int i = 0; i < 8; ++i)
      prompts << nlohmann::json{{"prompt", "What is " + std::to_string(i) + " plus 1? "}, {"answer", i + 1}}.dump() << "\n";
    std::ofstream eval(dir_.path("eval.jsonl"));
    for (int i = 0; i < 4; ++i)
      eval << nlohmann::json{{"prompt", "Add " + std::to_string(i) + " and 2: "}, {"answer", i + 2}}.dump() << "\n";
  }
  std::string write_config(const std::string& name, const nlohmann::json& extra_args, const nlohmann::json& filter) {
    nlohmann::json args = {{"max_steps", 3},           {"num_generations", 4},   {"max_completion_length", 8},
                           {"learning_rate", 1e-3},    {"logging_steps", 1},     {"save_steps", 0},
                           {"seed", 11},               {"num_threads", 1},       {"beta", 0.04},
                           {"scale_rewards", "batch"}, {"eval_strategy", "steps"}, {"eval_steps", 3}};
    args.update(extra_args);
    nlohmann::json config = {{"trainer", "gfpo"},
                             {"model", dir_.path("model")},
                             {"train_dataset", dir_.path("prompts.jsonl")},
                             {"eval_dataset", dir_.path("eval.jsonl")},
                             {"reward_funcs",
                              {{{"name", "accuracy"}, {"args", {{"column", "answer"}}}},
                               {{"name", "length_penalty"}, {"args", {{"max_length", 16}, {"unit", "characters"}}}}}},
                             {"args", args}};
    if (!filter.is_null()) config["group_filter"] = filter;
    const std::string path = dir_.path(name + ".json");
    std::ofstream(path) << config.dump(2);
    return path;
  }
  // Trains `config` once in one process with 8 rows per device and once over 2 ranks with 4 each.
  void run_both(const std::string& config, const std::string& one, const std::string& two) {
    const Result a = host({"train", config, "--set", "args.per_device_train_batch_size=8", "--set",
                           "args.per_device_eval_batch_size=8", "--set", "args.output_dir=" + dir_.path(one)});
    ASSERT_EQ(a.exit_code, 0) << a.err;
    const Result b = host({"launch", "--nproc-per-node", "2", "--master-port", "0", "train", config, "--set",
                           "args.per_device_train_batch_size=4", "--set", "args.per_device_eval_batch_size=4", "--set",
                           "args.output_dir=" + dir_.path(two)});
    ASSERT_EQ(b.exit_code, 0) << b.err;
  }
  // Every numeric entry of every metrics.jsonl line agrees (runtimes aside), and so do the final weights.
  void expect_same_run(const std::string& one, const std::string& two, size_t lines) {
    const std::vector<nlohmann::json> a = read_jsonl(dir_.path(one + "/metrics.jsonl"));
    const std::vector<nlohmann::json> b = read_jsonl(dir_.path(two + "/metrics.jsonl"));
    ASSERT_EQ(a.size(), lines);
    ASSERT_EQ(b.size(), lines);
    for (size_t line = 0; line < lines; ++line) {
      for (const auto& [key, value] : a[line].items()) {
        if (key.find("runtime") != std::string::npos || key.find("per_second") != std::string::npos) continue;
        ASSERT_TRUE(b[line].contains(key)) << key << " missing from the 2-rank line " << line;
        const double x = value.get<double>(), y = b[line][key].get<double>();
        EXPECT_NEAR(x, y, 1e-5 * std::max(1.0, std::abs(x))) << key << " on line " << line;
      }
      EXPECT_EQ(a[line].size(), b[line].size()) << b[line].dump();
    }
    expect_same_trained_weights(dir_.path(one), dir_.path(two), dir_.path("model"));
    // Rank 0 logs every rank's completions, the same ones one process sampled.
    const std::vector<nlohmann::json> ca = read_jsonl(dir_.path(one + "/completions.jsonl"));
    const std::vector<nlohmann::json> cb = read_jsonl(dir_.path(two + "/completions.jsonl"));
    ASSERT_EQ(ca.size(), cb.size());
    for (size_t i = 0; i < ca.size(); ++i) {
      EXPECT_EQ(ca[i]["completion"], cb[i]["completion"]) << "row " << i;
      EXPECT_EQ(ca[i]["kept"], cb[i]["kept"]) << "row " << i;
    }
  }
  Result host(const std::vector<std::string>& args) { return host_process::run(dir_.path(), args); }
  host_process::TempDir dir_{"dist-gfpo"};
};

TEST_F(DistributedGfpo, TwoRanksTrainAndEvaluateAsOneRankWithTheDoubleBatch) {
  const std::string config = write_config("grpo", nlohmann::json::object(), nullptr);
  run_both(config, "one", "two");
  expect_same_run("one", "two", 5);  // three steps, the eval at step 3, the summary
  const std::vector<nlohmann::json> b = read_jsonl(dir_.path("two/metrics.jsonl"));
  for (const char* key : {"reward_std", "kl", "entropy", "completions/mean_length", "num_tokens"})
    EXPECT_TRUE(b[2].contains(key)) << key << " not logged: " << b[2].dump();
  EXPECT_TRUE(b[3].contains("eval_loss") && b[3].contains("eval_reward")) << b[3].dump();
  // 2 prompts x 4 completions per step, every one counted once: prompt and completion tokens.
  EXPECT_GT(b[0]["num_tokens"].get<double>(), 8.0);
}

TEST_F(DistributedGfpo, GroupFilterOverRanksKeepsWhatOneRankKeeps) {
  const std::string config =
      write_config("gfpo", {{"num_remains_in_group", 2}, {"eval_strategy", "no"}}, {{"name", "token_efficiency"}});
  run_both(config, "one", "two");
  expect_same_run("one", "two", 4);
  size_t kept = 0;
  for (const nlohmann::json& row : read_jsonl(dir_.path("two/completions.jsonl"))) kept += row["kept"].get<bool>();
  EXPECT_EQ(kept, 3u * 2u * 2u);  // 3 steps x 2 prompts x R 2
}

// TRL 1.16's loss types over ranks: cispo_clip_ratio (token-weighted) and vespo/phi_seq_mean (row-weighted)
// gathered as one process computes them, and TR-DPO's sync moving every rank's reference alike; num_iterations
// 2, so that the second pass over a generation batch has ratios != 1.
TEST_F(DistributedGfpo, CispoAndVespoWithReferenceSyncTrainAsOneRank) {
  const std::string cispo = write_config(
      "cispo", {{"loss_type", "cispo"}, {"epsilon_high", 1.05}, {"sync_ref_model", true}, {"ref_model_sync_steps", 1},
                {"num_iterations", 2}, {"eval_strategy", "no"}},
      nullptr);
  run_both(cispo, "cispo_one", "cispo_two");
  expect_same_run("cispo_one", "cispo_two", 4);
  EXPECT_TRUE(read_jsonl(dir_.path("cispo_two/metrics.jsonl"))[0].contains("cispo_clip_ratio"));
  const std::string vespo =
      write_config("vespo", {{"loss_type", "vespo"}, {"num_iterations", 2}, {"eval_strategy", "no"}}, nullptr);
  run_both(vespo, "vespo_one", "vespo_two");
  expect_same_run("vespo_one", "vespo_two", 4);
  const std::vector<nlohmann::json> lines = read_jsonl(dir_.path("vespo_two/metrics.jsonl"));
  EXPECT_DOUBLE_EQ(lines[0].at("vespo/phi_seq_mean").get<double>(), 1.0) << "first pass: on-policy";
  EXPECT_NE(lines[1].at("vespo/phi_seq_mean").get<double>(), 1.0) << "second pass: the policy moved";
}

TEST_F(DistributedGfpo, RefusesGroupsSplitAcrossRanks) {
  const std::string config = write_config("split", nlohmann::json::object(), nullptr);
  const Result r = host({"launch", "--nproc-per-node", "2", "--master-port", "0", "train", config, "--set",
                         "args.per_device_train_batch_size=2", "--set", "args.output_dir=" + dir_.path("split")});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("must be a multiple of num_generations (4)"), std::string::npos) << r.err;
}

}  // namespace
