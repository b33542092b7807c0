// Black-box tests of `trl-host plugins new NAME --kind KIND --out DIR`: the project it writes per kind and
// its refusals (exit 2, naming the argument, nothing written). That the projects build warning-free and
// load against an installed SDK is AuthoringSlow.InstallBuildLoadRun (tests/authoring/).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "host_process.h"

namespace {

namespace fs = std::filesystem;
using host_process::Result;
using host_process::slurp;
using host_process::TempDir;

Result plugins_new(const TempDir& tmp, const std::string& name, const std::string& kind, const std::string& out) {
  return host_process::run(tmp.path(), {"plugins", "new", name, "--kind", kind, "--out", out});
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// What each kind's source must hold: its declaration in TRL_PLUGIN and its registration.
struct KindText {
  std::string kind, declare, add;
};

TEST(PluginsNew, WritesAProjectPerKindThatNamesThePluginEverywhere) {
  TempDir tmp("plugins-new");
  const std::vector<KindText> kinds = {{"reward", "TRL_REWARD", "add_reward"},
                                       {"callback", "TRL_CALLBACK", "add_callback"},
                                       {"group_filter", "TRL_GROUP_FILTER", "add_group_filter"},
                                       {"trainer", "TRL_TRAINER", "add_trainer"}};
  fs::create_directory(tmp.path("reward"));  // an existing empty folder will do
  for (const KindText& k : kinds) {
    const std::string name = "my_" + k.kind;
    const std::string out = tmp.path(k.kind);
    const Result r = plugins_new(tmp, name, k.kind, out);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "wrote " + k.kind + " plugin '" + name + "'")) << r.out;
    EXPECT_TRUE(contains(r.out, "plugins check")) << "says what to do next: " << r.out;

    const std::string cmake = slurp(out + "/CMakeLists.txt");
    EXPECT_TRUE(contains(cmake, "project(" + name + " VERSION 0.1.0")) << cmake;
    EXPECT_TRUE(contains(cmake, "find_package(TrlSdk 1.0 REQUIRED)")) << cmake;
    EXPECT_TRUE(contains(cmake, "trl_add_plugin(" + name + " SOURCES " + name + ".cpp)")) << cmake;

    const std::string source = slurp(out + "/" + name + ".cpp");
    EXPECT_TRUE(contains(source, "TRL_PLUGIN(\"" + name + "\"")) << "experimental by default";
    EXPECT_TRUE(contains(source, k.declare + "(\"" + name + "\")")) << source.substr(0, 400);
    EXPECT_TRUE(contains(source, "registry." + k.add + "(\n      \"" + name + "\"")) << k.kind;
    EXPECT_FALSE(contains(source, "@NAME@")) << "every placeholder is filled";
    EXPECT_FALSE(contains(source, "TODO"));

    const std::string readme = slurp(out + "/README.md");
    EXPECT_TRUE(contains(readme, "trl-host plugins check build/" + name + ".so")) << readme;
    EXPECT_TRUE(contains(readme, "TRL_PLUGIN_STABLE")) << "says how to declare it stable";
  }

  // A trainer project also runs as written: a run config naming it, over its own data.
  const nlohmann::json run = nlohmann::json::parse(slurp(tmp.path("trainer/run.json")));
  EXPECT_EQ(run.at("trainer"), "my_trainer");
  EXPECT_EQ(run.at("train_dataset"), "data.jsonl");
  std::ifstream data(tmp.path("trainer/data.jsonl"));
  int rows = 0;
  for (std::string line; std::getline(data, line); ++rows) {
    const nlohmann::json row = nlohmann::json::parse(line);
    EXPECT_TRUE(row.at("prompt").is_string() && row.at("completion").is_string()) << line;
  }
  EXPECT_GE(rows, 4);
  EXPECT_FALSE(fs::exists(tmp.path("reward/run.json"))) << "only a trainer gets a run config";
}

TEST(PluginsNew, RefusesAnInvalidNameWithExit2) {
  TempDir tmp("plugins-new");
  // Each trl-host start costs about a second of LibTorch initialisation: one case per rule.
  const std::vector<std::pair<std::string, std::string>> cases = {{"My-Plugin", "expected [a-z0-9_]+"},
                                                                   {std::string(60, 'a'), "at most 59"}};
  for (const auto& [bad, expected] : cases) {
    const Result r = plugins_new(tmp, bad, "reward", tmp.path("out"));
    EXPECT_EQ(r.exit_code, 2) << "'" << bad << "': " << r.err;
    EXPECT_TRUE(contains(r.err, "NAME")) << r.err;
    EXPECT_TRUE(contains(r.err, expected)) << r.err;
    EXPECT_FALSE(fs::exists(tmp.path("out"))) << "nothing written for '" << bad << "'";
  }
}

TEST(PluginsNew, RefusesAnUnknownKindWithExit2) {
  TempDir tmp("plugins-new");
  const Result r = plugins_new(tmp, "x", "optimizer", tmp.path("out"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "--kind")) << r.err;
  EXPECT_TRUE(contains(r.err, "optimizer")) << r.err;
  EXPECT_FALSE(fs::exists(tmp.path("out")));
}

TEST(PluginsNew, RefusesANonEmptyOutAndLeavesItAlone) {
  TempDir tmp("plugins-new");
  fs::create_directory(tmp.path("busy"));
  std::ofstream(tmp.path("busy/CMakeLists.txt")) << "mine\n";
  const Result r = plugins_new(tmp, "x", "callback", tmp.path("busy"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "--out")) << r.err;
  EXPECT_TRUE(contains(r.err, "not empty")) << r.err;
  EXPECT_EQ(slurp(tmp.path("busy/CMakeLists.txt")), "mine\n") << "an existing file is never overwritten";
  EXPECT_FALSE(fs::exists(tmp.path("busy/x.cpp")));

  std::ofstream(tmp.path("file")) << "a file\n";
  const Result f = plugins_new(tmp, "x", "callback", tmp.path("file"));
  EXPECT_EQ(f.exit_code, 2) << f.err;
  EXPECT_TRUE(contains(f.err, "--out")) << f.err;
  EXPECT_TRUE(contains(f.err, "not a folder")) << f.err;
}

}  // namespace
