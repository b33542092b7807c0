// Black-box tests of `trl-host plugins list` and `plugins info`, the stability policy and the security
// rule: the real binary, its exit codes, the JSON on stdout and the text on stderr.
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "plugins_cli_support.h"

#ifdef TRL_FIXTURE_TORCH_DEBIAN
#include <torch/csrc/api/include/torch/version.h>
#endif

namespace {

using plugins_cli::count;
using plugins_cli::fixture;
using plugins_cli::HostRun;
using plugins_cli::run_host;
using plugins_cli::TempDir;

nlohmann::json parse_stdout(const HostRun& r) {
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << "stdout is not one JSON document:\n" << r.out;
  return j;
}

// The `plugins list --json` entry for the file named `file`.
nlohmann::json entry(const nlohmann::json& list, const std::string& file) {
  for (const auto& p : list["plugins"])
    if (std::filesystem::path(p["path"].get<std::string>()).filename() == file) return p;
  ADD_FAILURE() << file << " not listed";
  return nlohmann::json::object();
}

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

TEST(PluginsList, EveryFixtureGetsItsOutcome) {
  TempDir tmp;
  const std::string d = tmp.folder("plugins");
  for (const char* f : {"stable", "experimental", "abi_major", "abi_minor", "torch_other", "cxx11_abi", "bad_stability",
                        "no_descriptor", "wrong_size", "undeclared", "init_throws", "segv_static", "abort_static"})
    tmp.add(d, f);
  tmp.write(d, "text.so", "this is a text file, not a library\n");
  tmp.truncated(d, "stable", "truncated.so", 3000);
  const HostRun r = run_host({"plugins", "list", "--json", "--plugin-dir", d}, tmp.empty());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = parse_stdout(r);

  EXPECT_EQ(entry(j, "fixture_stable.so")["status"], "ok");
  EXPECT_EQ(entry(j, "fixture_stable.so")["stability"], "stable");
  EXPECT_EQ(entry(j, "fixture_stable.so")["version"], "1.2.3");
  EXPECT_EQ(entry(j, "fixture_stable.so")["abi"], "1.0");
  EXPECT_EQ(entry(j, "fixture_stable.so")["components"].size(), 4u);
  EXPECT_EQ(entry(j, "fixture_experimental.so")["status"], "ok");
  EXPECT_EQ(entry(j, "fixture_experimental.so")["stability"], "experimental");
  // Loading fails only later for these; list judges the file alone.
  for (const char* f : {"fixture_undeclared.so", "fixture_init_throws.so", "fixture_segv_static.so",
                        "fixture_abort_static.so"})
    EXPECT_EQ(entry(j, f)["status"], "ok") << f;

  const std::vector<std::pair<std::string, std::string>> refused = {
      {"fixture_abi_major.so", "SDK ABI major: plugin built against SDK ABI 2.0, host has ABI 1.x"},
      {"fixture_abi_minor.so", "SDK ABI minor: plugin built against 1.3, host supports up to 1.0"},
      {"fixture_torch_other.so", "LibTorch: plugin built against LibTorch "},
      {"fixture_cxx11_abi.so", "C++ ABI: plugin built with _GLIBCXX_USE_CXX11_ABI=0"},
      {"fixture_bad_stability.so", "stability: plugin declares stability 7"},
      {"fixture_wrong_size.so", "descriptor size: trl_desc section is "}};
  for (const auto& [file, reason] : refused) {
    const nlohmann::json e = entry(j, file);
    EXPECT_EQ(e["status"], "refused") << file;
    EXPECT_TRUE(starts_with(e["reason"], reason)) << file << ": " << e["reason"];
  }
  const std::vector<std::pair<std::string, std::string>> not_plugins = {
      {"fixture_no_descriptor.so", "ELF shared object without a trl_desc section"},
      {"text.so", "not an ELF file"},
      {"truncated.so", "truncated or corrupt ELF"}};
  for (const auto& [file, reason] : not_plugins) {
    const nlohmann::json e = entry(j, file);
    EXPECT_EQ(e["status"], "not a plugin") << file;
    EXPECT_TRUE(e["name"].is_null()) << file;
    EXPECT_NE(e["reason"].get<std::string>().find(reason), std::string::npos) << file << ": " << e["reason"];
  }
  EXPECT_EQ(r.err.find("EXPERIMENTAL"), std::string::npos) << "list never warns:\n" << r.err;
}

TEST(PluginsList, TextTableShowsSearchPathTagAndStatus) {
  TempDir tmp;
  const std::string d = tmp.folder("plugins");
  tmp.add(d, "experimental");
  tmp.add(d, "abi_minor");
  const HostRun r = run_host({"plugins", "list", "--plugin-dir", d}, tmp.empty());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(
      starts_with(r.out, "search path: " + d + " (--plugin-dir) | " + tmp.empty() + " (TRL_PLUGIN_SYSTEM_PATH)\n"))
      << r.out;
  EXPECT_NE(r.out.find("\nhost: SDK ABI 1.0.0, LibTorch "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("NAME"), std::string::npos);
  EXPECT_NE(r.out.find("STABILITY"), std::string::npos);
  EXPECT_NE(r.out.find("fixture_experimental  0.1.0    experimental"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("refused: SDK ABI minor: plugin built against 1.3, host supports up to 1.0"), std::string::npos)
      << r.out;
  EXPECT_EQ(r.err.find("EXPERIMENTAL"), std::string::npos) << r.err;
}

TEST(PluginsList, NeverRunsPluginCode) {
  TempDir tmp;
  const std::string d = tmp.folder("plugins");
  tmp.add(d, "marker_ok");
  tmp.add(d, "marker_refused");
  const std::string marker = tmp.path() + "/marker";
  const std::map<std::string, std::string> env = {{"TRL_FIXTURE_MARKER", marker}};
  EXPECT_EQ(run_host({"plugins", "list", "--plugin-dir", d}, tmp.empty(), env).exit_code, 0);
  EXPECT_EQ(run_host({"plugins", "list", "--json", "--plugin-dir", d}, tmp.empty(), env).exit_code, 0);
  EXPECT_NE(::access(marker.c_str(), F_OK), 0) << "plugins list ran plugin code";
  EXPECT_EQ(run_host({"plugins", "info", d + "/fixture_marker_refused.so"}, tmp.empty(), env).exit_code, 3);
  EXPECT_EQ(run_host({"plugins", "info", "--json", "fixture_marker_refused", "--plugin-dir", d}, tmp.empty(), env)
                .exit_code,
            3);
  EXPECT_NE(::access(marker.c_str(), F_OK), 0) << "plugins info ran the code of a refused plugin";
  // The control: a real load (check does one, in a child process) runs the static constructor.
  const HostRun check = run_host({"plugins", "check", d + "/fixture_marker_ok.so"}, tmp.empty(), env);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_EQ(::access(marker.c_str(), F_OK), 0) << "the marker fixture did not leave its file";
}

TEST(PluginsList, FirstNameWinsAndShadowedIsNeverLoaded) {
  TempDir tmp;
  const std::string a = tmp.folder("a"), b = tmp.folder("b");
  const std::string winner = tmp.add(a, "stable");
  const std::string loser = tmp.add(b, "duplicate");
  const std::string marker = tmp.path() + "/marker";
  const HostRun r = run_host({"plugins", "list", "--json", "--plugin-dir", a, "--plugin-dir", b}, tmp.empty(),
                             {{"TRL_FIXTURE_MARKER", marker}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = parse_stdout(r);
  EXPECT_EQ(entry(j, "fixture_stable.so")["status"], "ok");
  EXPECT_EQ(entry(j, "fixture_duplicate.so")["status"], "shadowed");
  EXPECT_EQ(entry(j, "fixture_duplicate.so")["shadowed_by"], winner);
  EXPECT_EQ(entry(j, "fixture_duplicate.so")["version"], "9.9.9");

  // TRL_PLUGIN_PATH comes after --plugin-dir, so the winner flips when b is given on the command line.
  const HostRun flipped =
      run_host({"plugins", "list", "--json", "--plugin-dir", b}, tmp.empty(), {{"TRL_PLUGIN_PATH", a}});
  const nlohmann::json jf = parse_stdout(flipped);
  EXPECT_EQ(entry(jf, "fixture_duplicate.so")["status"], "ok");
  EXPECT_EQ(entry(jf, "fixture_stable.so")["status"], "shadowed");
  EXPECT_EQ(entry(jf, "fixture_stable.so")["shadowed_by"], loser);
  EXPECT_EQ(entry(jf, "fixture_stable.so")["origin"], "TRL_PLUGIN_PATH");

  // `info NAME` shows the winner; checking everything skips the shadowed copy, whose code never runs.
  const HostRun info = run_host({"plugins", "info", "--json", "fixture_stable", "--plugin-dir", a, "--plugin-dir", b},
                                tmp.empty(), {{"TRL_FIXTURE_MARKER", marker}});
  EXPECT_EQ(parse_stdout(info)["path"], winner);
  const HostRun check = run_host({"plugins", "check", "--plugin-dir", a, "--plugin-dir", b}, tmp.empty(),
                                 {{"TRL_FIXTURE_MARKER", marker}});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_NE(check.out.find("SKIP: shadowed by " + winner), std::string::npos) << check.out;
  EXPECT_NE(::access(marker.c_str(), F_OK), 0) << "a shadowed plugin was loaded";
}

TEST(PluginsList, DefaultFolderIsNextToTheExecutable) {
  TempDir tmp;
  const HostRun r = run_host({"plugins", "list", "--json"}, tmp.empty(), {{"TRL_PLUGIN_SYSTEM_PATH", ""}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // An empty TRL_PLUGIN_SYSTEM_PATH is still set: it replaces the default with nothing.
  EXPECT_TRUE(parse_stdout(r)["search_path"].empty()) << r.out;
  const std::string command = "env -u TRL_PLUGIN_SYSTEM_PATH -u TRL_PLUGIN_PATH " + plugins_cli::quoted(TRL_HOST_EXE) +
                              " plugins list --json > " + tmp.path() + "/default.json";
  ASSERT_EQ(std::system(command.c_str()), 0);
  const nlohmann::json j = nlohmann::json::parse(plugins_cli::slurp(tmp.path() + "/default.json"));
  ASSERT_EQ(j["search_path"].size(), 1u);
  const std::string expected =
      (std::filesystem::path(TRL_HOST_EXE).parent_path().parent_path() / "lib" / "trl" / "plugins").string() +
      " (default)";
  EXPECT_EQ(j["search_path"][0], expected);
}

TEST(PluginsSecurity, WorldWritableFileIsRefusedUnlessAllowed) {
  TempDir tmp;
  const std::string d = tmp.folder("plugins");
  const std::string f = tmp.add(d, "stable", "", 0666);
  const HostRun r = run_host({"plugins", "list", "--json", "--plugin-dir", d}, tmp.empty());
  const nlohmann::json e = entry(parse_stdout(r), "fixture_stable.so");
  EXPECT_EQ(e["status"], "refused");
  EXPECT_TRUE(starts_with(e["reason"], "file permissions: plugin file " + f + " is writable by others (mode 0666)"))
      << e["reason"];
  const HostRun info = run_host({"plugins", "info", f}, tmp.empty());
  EXPECT_EQ(info.exit_code, 3);
  EXPECT_NE(info.err.find("refused " + f + ": file permissions: plugin file " + f + " is writable by others"),
            std::string::npos)
      << info.err;

  const HostRun allowed =
      run_host({"plugins", "list", "--json", "--allow-insecure-plugins", "--plugin-dir", d}, tmp.empty());
  EXPECT_EQ(entry(parse_stdout(allowed), "fixture_stable.so")["status"], "ok");
  EXPECT_EQ(run_host({"--allow-insecure-plugins", "plugins", "info", f}, tmp.empty()).exit_code, 0);
}

TEST(PluginsSecurity, GroupWritableFolderIsRefused) {
  TempDir tmp;
  const std::string d = tmp.folder("plugins", 0770);
  tmp.add(d, "stable");
  const HostRun r = run_host({"plugins", "list", "--json", "--plugin-dir", d}, tmp.empty());
  const nlohmann::json e = entry(parse_stdout(r), "fixture_stable.so");
  EXPECT_EQ(e["status"], "refused");
  EXPECT_NE(e["reason"].get<std::string>().find("plugin folder " + d + " is writable by its group (mode 0770)"),
            std::string::npos)
      << e["reason"];
}

TEST(PluginsInfo, ShowsEveryRuleFileFactsAndParameters) {
  TempDir tmp;
  const std::string d = tmp.folder("plugins");
  const std::string f = tmp.add(d, "stable");
  const HostRun r = run_host({"plugins", "info", "fixture_stable", "--json", "--plugin-dir", d}, tmp.empty());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = parse_stdout(r);
  EXPECT_EQ(j["path"], f);
  EXPECT_EQ(j["status"], "ok");
  EXPECT_EQ(j["descriptor"]["name"], "fixture_stable");
  EXPECT_EQ(j["descriptor"]["license"], "Apache-2.0");
  EXPECT_EQ(j["descriptor"]["sdk_abi"], j["host"]["sdk_abi"]);
  EXPECT_GT(j["file"]["size"].get<uint64_t>(), 0u);
  EXPECT_EQ(j["file"]["mtime"].get<std::string>().size(), 20u) << "ISO 8601 UTC";
  EXPECT_NE(std::find(j["needed"].begin(), j["needed"].end(), "libtrl_sdk.so.1"), j["needed"].end()) << j["needed"];
  EXPECT_EQ(j["experimental_warning"], "not applicable (not experimental)");
  ASSERT_GE(j["rules"].size(), 13u);
  for (const auto& rule : j["rules"]) EXPECT_TRUE(rule["pass"].get<bool>()) << rule;
  EXPECT_TRUE(j["load"]["passed"].get<bool>()) << j["load"];
  ASSERT_EQ(j["components"].size(), 4u);
  const auto& reward = j["components"][0];
  EXPECT_EQ(reward["kind"], "reward");
  EXPECT_EQ(reward["name"], "completion_length");
  EXPECT_EQ(reward["params"][0]["name"], "scale");

  const HostRun text = run_host({"plugins", "info", f}, tmp.empty());
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("SDK ABI minor"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("DT_NEEDED"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("PASS: registrations"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("scale (number, default 1.0, > 0)"), std::string::npos) << text.out;
}

TEST(PluginsInfo, RefusedPluginShowsTheFailingRuleAndExits3) {
  TempDir tmp;
  const std::string d = tmp.folder("plugins");
  const std::string f = tmp.add(d, "abi_minor");
  const HostRun r = run_host({"plugins", "info", "--json", f}, tmp.empty());
  EXPECT_EQ(r.exit_code, 3);
  const nlohmann::json j = parse_stdout(r);
  EXPECT_EQ(j["status"], "refused");
  EXPECT_FALSE(j.contains("load")) << "a refused plugin is never loaded";
  bool found = false;
  for (const auto& rule : j["rules"]) {
    if (rule["rule"] != "SDK ABI minor") continue;
    found = true;
    EXPECT_FALSE(rule["pass"].get<bool>());
    EXPECT_EQ(rule["plugin"], "1.3");
    EXPECT_EQ(rule["host"], "<= 1.0");
  }
  EXPECT_TRUE(found);
  EXPECT_NE(r.err.find("refused " + f + ": SDK ABI minor: plugin built against 1.3, host supports up to 1.0"),
            std::string::npos)
      << r.err;
}

TEST(PluginsInfo, LoadFailureIsShownWithItsStep) {
  TempDir tmp;
  const std::string f = tmp.add(tmp.folder("plugins"), "init_throws");
  const HostRun r = run_host({"plugins", "info", f}, tmp.empty());
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.out.find("FAIL: init: trl_plugin_init_v1 returned 1: fixture_init_throws: init failed on purpose"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.err.find("failed to load " + f + ": init: "), std::string::npos) << r.err;
}

TEST(PluginsInfo, NotAPluginExits3) {
  TempDir tmp;
  const std::string f = tmp.write(tmp.folder("plugins"), "text.so", "hello\n");
  const HostRun r = run_host({"plugins", "info", "--json", f}, tmp.empty());
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(parse_stdout(r)["status"], "not a plugin");
  EXPECT_NE(r.err.find("not a plugin: " + f + ": not an ELF file"), std::string::npos) << r.err;
}

TEST(PluginsInfo, UnknownNameIsAUsageErrorWithSuggestion) {
  TempDir tmp;
  const std::string d = tmp.folder("plugins");
  tmp.add(d, "stable");
  const HostRun r = run_host({"plugins", "info", "fixture_stabel", "--plugin-dir", d}, tmp.empty());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_NE(r.err.find("plugins: fixture_stabel: no plugin of that name on the search path (did you mean "
                       "'fixture_stable'?)"),
            std::string::npos)
      << r.err;
}

const char* kWarning = "plugin 'fixture_experimental' 0.1.0 is EXPERIMENTAL";

HostRun info_experimental(const TempDir& tmp, const std::map<std::string, std::string>& env,
                          std::vector<std::string> extra = {}) {
  const std::string d = tmp.path() + "/plugins";
  if (!std::filesystem::exists(d + "/fixture_experimental.so")) tmp.add(tmp.folder("plugins"), "experimental");
  std::vector<std::string> args = {"plugins", "info", "fixture_experimental", "--plugin-dir", d};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_host(args, tmp.empty(), env);
}

TEST(PluginsStability, ExperimentalWarningIsShownOnce) {
  TempDir tmp;
  const HostRun r = info_experimental(tmp, {});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(count(r.err, "is EXPERIMENTAL"), 1u) << r.err;
  EXPECT_NE(r.err.find(kWarning), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("its API may change or be removed in any release"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("TRL_EXPERIMENTAL_SILENCE=1"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("is EXPERIMENTAL"), std::string::npos) << "warnings go to stderr only";
  EXPECT_NE(r.out.find("experimental warning  shown"), std::string::npos) << r.out;
}

TEST(PluginsStability, SilencedByOneAllOrName) {
  TempDir tmp;
  // (true, yes and case variants are covered by the unit tests of the parser.)
  for (const char* value : {"1", "all", "bema,fixture_experimental"}) {
    const HostRun r = info_experimental(tmp, {{"TRL_EXPERIMENTAL_SILENCE", value}});
    EXPECT_EQ(r.exit_code, 0) << value << ": " << r.err;
    EXPECT_EQ(r.err.find("EXPERIMENTAL"), std::string::npos) << value << ": " << r.err;
    EXPECT_NE(r.out.find(std::string("silenced by TRL_EXPERIMENTAL_SILENCE=") + value), std::string::npos)
        << value << ": " << r.out;
    EXPECT_NE(r.out.find("(experimental)"), std::string::npos) << "the tag is never hidden";
  }
}

TEST(PluginsStability, NotSilencedByZeroOrOtherNames) {
  TempDir tmp;
  for (const char* value : {"0", "bema"}) {
    const HostRun r = info_experimental(tmp, {{"TRL_EXPERIMENTAL_SILENCE", value}});
    EXPECT_EQ(r.exit_code, 0) << value;
    EXPECT_EQ(count(r.err, kWarning), 1u) << value << ": " << r.err;
  }
}

TEST(PluginsStability, StableOnlyRefusesExperimental) {
  TempDir tmp;
  const HostRun flag = info_experimental(tmp, {}, {"--stable-only"});
  EXPECT_EQ(flag.exit_code, 3);
  EXPECT_NE(flag.err.find(": stable-only: plugin is experimental and --stable-only (or TRL_STABLE_ONLY=1) refuses "
                          "experimental plugins"),
            std::string::npos)
      << flag.err;
  EXPECT_EQ(flag.err.find("is EXPERIMENTAL"), std::string::npos) << "a refused plugin is not used, so no warning";
  const HostRun env = info_experimental(tmp, {{"TRL_STABLE_ONLY", "1"}});
  EXPECT_EQ(env.exit_code, 3) << env.err;
  const HostRun list = run_host({"plugins", "list", "--json", "--stable-only", "--plugin-dir", tmp.path() + "/plugins"},
                                tmp.empty());
  EXPECT_EQ(entry(parse_stdout(list), "fixture_experimental.so")["status"], "refused");
  const HostRun bad = info_experimental(tmp, {{"TRL_STABLE_ONLY", "maybe"}});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("TRL_STABLE_ONLY: expected 1 or 0, got 'maybe'"), std::string::npos) << bad.err;
}

TEST(PluginsCli, HelpOnEveryCommand) {
  TempDir tmp;
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"plugins", "--help"}, {"plugins", "list", "--help"}, {"plugins", "info", "--help"},
        {"plugins", "check", "--help"}}) {
    const HostRun r = run_host(args, tmp.empty());
    EXPECT_EQ(r.exit_code, 0) << args.back();
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << r.out;
  }
  const HostRun list_help = run_host({"plugins", "list", "--help"}, tmp.empty());
  EXPECT_NE(list_help.out.find("--json"), std::string::npos);
  const HostRun check_help = run_host({"plugins", "check", "--help"}, tmp.empty());
  EXPECT_NE(check_help.out.find("--timeout"), std::string::npos);
  const HostRun plugins_help = run_host({"plugins", "--help"}, tmp.empty());
  EXPECT_NE(plugins_help.out.find("\n  check "), std::string::npos) << plugins_help.out;
  EXPECT_EQ(plugins_help.out.find("\n  probe "), std::string::npos) << "the probe is internal:\n" << plugins_help.out;
}

TEST(PluginsCli, MissingSubcommandIsAUsageError) {
  TempDir tmp;
  EXPECT_EQ(run_host({"plugins"}, tmp.empty()).exit_code, 2);
  EXPECT_EQ(run_host({"plugins", "info"}, tmp.empty()).exit_code, 2);
  EXPECT_EQ(run_host({"plugins", "check", "--timeout", "-1"}, tmp.empty()).exit_code, 2);
}

#ifdef TRL_FIXTURE_TORCH_DEBIAN
// The LibTorch 2.x build only (TRL_TORCH=pip): a plugin built against Debian's LibTorch 1.13
// (tests/fixtures/src/torch_debian.cpp) is refused before loading by the LibTorch rule, with the message
// docs/abi-policy.md documents, by `plugins info` and `plugins check` (exit 3).
TEST(PluginsAbiGate, RefusesPluginBuiltAgainstLibTorch113) {
  TempDir tmp;
  const std::string d = tmp.folder("plugins");
  const std::string f = tmp.add(d, "torch_debian");
  const std::string host = std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
                           std::to_string(TORCH_VERSION_PATCH);
  ASSERT_EQ(TORCH_VERSION_MAJOR, 2) << "this test is for the 2.x build";
  const HostRun info = run_host({"plugins", "info", "--json", f}, tmp.empty());
  EXPECT_EQ(info.exit_code, 3);
  const nlohmann::json j = parse_stdout(info);
  EXPECT_EQ(j["status"], "refused");
  EXPECT_FALSE(j.contains("load")) << "a refused plugin is never loaded";
  bool found = false;
  for (const auto& rule : j["rules"]) {
    if (rule["rule"] != "LibTorch") continue;
    found = true;
    EXPECT_FALSE(rule["pass"].get<bool>());
    EXPECT_EQ(rule["plugin"], "1.13.0");
  }
  EXPECT_TRUE(found) << j.dump(2);
  const std::string message =
      "LibTorch: plugin built against LibTorch 1.13.0, host runs " + host + " (major.minor must be equal)";
  EXPECT_NE(info.err.find("refused " + f + ": " + message), std::string::npos) << info.err;
  const HostRun check = run_host({"plugins", "check", f}, tmp.empty());
  EXPECT_EQ(check.exit_code, 3);
  EXPECT_NE((check.out + check.err).find(message), std::string::npos) << check.out << check.err;
}
#endif

}  // namespace
