// Security guarantees of trl-host that are not plugin-policy rules (those are in plugins_cli_test.cpp),
// black box (issue 10):
//  - output_dir: save_total_limit prunes only the checkpoint-N folders trl-host writes (a checkpoint-N
//    folder holding trainer_state.json); a user's files, a folder named checkpoint-foo and a checkpoint-N
//    folder without trainer_state.json survive, --resume never picks the latter, a save that would
//    replace it stops with exit 1 instead, and nothing outside output_dir is touched; stale temporaries
//    of a killed run are cleaned up;
//  - plugin search: nothing is loaded from the current directory implicitly, not even through empty
//    entries of TRL_PLUGIN_PATH (which PATH-style lists would read as ".").
#include <sys/stat.h>
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

TEST(OutputDirSafety, PruningKeepsEverythingTheRunDidNotWrite) {
  host_process::TempDir dir("output-dir-safety");
  const std::string out = dir.path("run");
  fs::create_directories(out + "/checkpoint-foo");
  // Named like a checkpoint (and newer than any the run writes), but not written by trl-host.
  fs::create_directories(out + "/checkpoint-7");
  std::ofstream(out + "/checkpoint-7/notes.txt") << "mine";
  std::ofstream(out + "/checkpoint-foo/data.txt") << "mine";
  std::ofstream(out + "/my_notes.txt") << "mine";
  std::ofstream(dir.path("beside.txt")) << "outside output_dir";
  // A temporary of a killed run (process 2^22 + 1 is above Linux's pid_max default: never alive).
  fs::create_directories(out + "/.tmp-checkpoint-2-4194305");
  const nlohmann::json config = {
      {"trainer", "dpo"},
      {"model", host_process::tiny_model()},
      {"train_dataset", std::string(TRL_TEST_DATA_DIR) + "/../examples/data/prefs_train.jsonl"},
      {"args",
       {{"output_dir", out},
        {"max_steps", 3},
        {"per_device_train_batch_size", 2},
        {"max_length", 32},
        {"save_steps", 1},
        {"save_total_limit", 1},
        {"num_threads", 1}}}};
  std::ofstream(dir.path("run.json")) << config.dump();
  const host_process::Result r = host_process::run(dir.path(), {"train", dir.path("run.json")}, {{"OMP_NUM_THREADS", "1"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  EXPECT_EQ(host_process::slurp(out + "/checkpoint-7/notes.txt"), "mine");
  EXPECT_EQ(host_process::slurp(out + "/checkpoint-foo/data.txt"), "mine");
  EXPECT_EQ(host_process::slurp(out + "/my_notes.txt"), "mine");
  EXPECT_EQ(host_process::slurp(dir.path("beside.txt")), "outside output_dir");
  EXPECT_FALSE(fs::exists(out + "/.tmp-checkpoint-2-4194305")) << "a dead run's temporary was not cleaned up";
  // The run's own checkpoints: only the newest is kept.
  EXPECT_FALSE(fs::exists(out + "/checkpoint-2"));
  EXPECT_TRUE(fs::exists(out + "/checkpoint-3/trainer_state.json"));
  for (const auto& entry : fs::directory_iterator(out))
    EXPECT_EQ(entry.path().filename().string().rfind(".deleting-", 0), std::string::npos) << entry.path();

  // --resume picks the newest checkpoint trl-host wrote, never the user's checkpoint-7.
  const host_process::Result resumed = host_process::run(
      dir.path(), {"train", dir.path("run.json"), "--set", "args.max_steps=4", "--resume"}, {{"OMP_NUM_THREADS", "1"}});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("checkpoint-3"), std::string::npos) << resumed.err;
  EXPECT_EQ(resumed.err.find("checkpoint-7"), std::string::npos) << resumed.err;
  EXPECT_EQ(host_process::slurp(out + "/checkpoint-7/notes.txt"), "mine");
}

TEST(OutputDirSafety, ASaveNeverReplacesAForeignCheckpointFolder) {
  host_process::TempDir dir("output-dir-foreign");
  const std::string out = dir.path("run");
  fs::create_directories(out + "/checkpoint-2");
  std::ofstream(out + "/checkpoint-2/notes.txt") << "mine";
  const nlohmann::json config = {
      {"trainer", "dpo"},
      {"model", host_process::tiny_model()},
      {"train_dataset", std::string(TRL_TEST_DATA_DIR) + "/../examples/data/prefs_train.jsonl"},
      {"args",
       {{"output_dir", out}, {"max_steps", 2}, {"per_device_train_batch_size", 2}, {"max_length", 32},
        {"save_steps", 2}, {"num_threads", 1}}}};
  std::ofstream(dir.path("run.json")) << config.dump();
  const host_process::Result r = host_process::run(dir.path(), {"train", dir.path("run.json")}, {{"OMP_NUM_THREADS", "1"}});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(out + "/checkpoint-2: exists but was not written by trl-host"), std::string::npos) << r.err;
  EXPECT_EQ(host_process::slurp(out + "/checkpoint-2/notes.txt"), "mine");
  EXPECT_FALSE(fs::exists(out + "/model.safetensors"));
}

TEST(PluginSearch, NeverLoadsFromTheCurrentDirectory) {
  host_process::TempDir dir("plugin-cwd");
  const std::string cwd = dir.path("cwd");
  fs::create_directories(cwd);
  ::chmod(cwd.c_str(), 0700);
  const std::string plugin = cwd + "/fixture_stable.so";
  fs::copy_file(std::string(TRL_FIXTURE_PLUGIN_DIR) + "/stable/fixture_stable.so", plugin);
  ::chmod(plugin.c_str(), 0755);
  fs::create_directories(dir.path("empty"));
  const std::string out = dir.path("list.stdout"), err = dir.path("list.stderr");
  const pid_t pid = fork();
  if (pid == 0) {
    if (::chdir(cwd.c_str()) != 0) _exit(126);
    // Empty entries in a colon list (leading, doubled, trailing) are the classic way to mean ".".
    host_process::exec_host({"plugins", "list", "--json"},
                            {{"TRL_PLUGIN_PATH", ":" + dir.path("empty") + "::"}, {"TRL_PLUGIN_SYSTEM_PATH", ""}}, out, err);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << host_process::slurp(err);
  EXPECT_EQ(WEXITSTATUS(status), 0) << host_process::slurp(err);
  const std::string listing = host_process::slurp(out);
  EXPECT_EQ(listing.find("fixture_stable"), std::string::npos) << listing;
  const nlohmann::json j = nlohmann::json::parse(listing, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << listing;
}

}  // namespace
