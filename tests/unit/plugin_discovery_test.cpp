// Discovery: non-recursive sorted scan of *.so files, first name wins (later ones shadowed), the same
// file counts once, StrictModes-style permission refusals, and the policy (stable-only).
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "plugin_discovery.h"
#include "plugin_test_support.h"

namespace {

using trl::host::discover_plugins;
using trl::host::PluginPolicy;
using trl::host::PluginStatus;
using trl::host::SearchEntry;

PluginPolicy policy() {
  PluginPolicy p;
  p.host = trl::host::host_abi();
  return p;
}

SearchEntry dir(const std::string& path) { return {path, false, "--plugin-dir"}; }
SearchEntry file(const std::string& path) { return {path, true, "--plugin"}; }

TEST(PluginDiscovery, ScansSortedNonRecursiveSoFilesOnly) {
  plugin_test::TempDir tmp;
  const std::string d = tmp.folder("plugins");
  tmp.copy(plugin_test::fixture("stable"), d, "b.so");
  tmp.copy(plugin_test::fixture("experimental"), d, "a.so");
  tmp.copy(plugin_test::fixture("experimental"), d, "c.so.1");
  tmp.copy(plugin_test::fixture("experimental"), d, "notes.txt");
  tmp.copy(plugin_test::fixture("abi_major"), tmp.folder("plugins/sub"), "d.so");
  const auto found = discover_plugins({dir(d)}, policy());
  ASSERT_EQ(found.plugins.size(), 2u);
  EXPECT_EQ(found.plugins[0].path, d + "/a.so");
  EXPECT_EQ(found.plugins[1].path, d + "/b.so");
  EXPECT_EQ(found.plugins[0].name, "fixture_experimental");
  EXPECT_EQ(found.plugins[0].status, PluginStatus::ok) << found.plugins[0].reason;
  EXPECT_EQ(found.plugins[1].status, PluginStatus::ok) << found.plugins[1].reason;
  EXPECT_EQ(found.plugins[0].origin, "--plugin-dir");
}

TEST(PluginDiscovery, FirstNameWinsLaterIsShadowed) {
  plugin_test::TempDir tmp;
  const std::string first = tmp.folder("first"), second = tmp.folder("second");
  const std::string winner = tmp.copy(plugin_test::fixture("stable"), first, "stable.so");
  tmp.copy(plugin_test::fixture("duplicate"), second, "duplicate.so");
  const auto found = discover_plugins({dir(first), dir(second)}, policy());
  ASSERT_EQ(found.plugins.size(), 2u);
  EXPECT_EQ(found.plugins[0].status, PluginStatus::ok);
  EXPECT_EQ(found.plugins[1].status, PluginStatus::shadowed);
  EXPECT_EQ(found.plugins[1].shadowed_by, winner);
  EXPECT_EQ(found.plugins[1].status_text(), "shadowed by " + winner);

  const auto reversed = discover_plugins({dir(second), dir(first)}, policy());
  EXPECT_EQ(reversed.plugins[0].status, PluginStatus::ok);
  EXPECT_EQ(reversed.plugins[1].status, PluginStatus::shadowed);
  EXPECT_EQ(reversed.plugins[1].path, winner);
}

TEST(PluginDiscovery, ExplicitFileComesFirst) {
  plugin_test::TempDir tmp;
  const std::string d = tmp.folder("plugins");
  tmp.copy(plugin_test::fixture("stable"), d, "stable.so");
  const std::string explicit_file = tmp.copy(plugin_test::fixture("duplicate"), tmp.folder("mine"), "dup.so");
  const auto found = discover_plugins({file(explicit_file), dir(d)}, policy());
  ASSERT_EQ(found.plugins.size(), 2u);
  EXPECT_EQ(found.plugins[0].path, explicit_file);
  EXPECT_EQ(found.plugins[0].status, PluginStatus::ok);
  EXPECT_EQ(found.plugins[1].status, PluginStatus::shadowed);
}

TEST(PluginDiscovery, SameFileTwiceCountsOnce) {
  plugin_test::TempDir tmp;
  const std::string d = tmp.folder("plugins");
  const std::string f = tmp.copy(plugin_test::fixture("stable"), d, "stable.so");
  const auto found = discover_plugins({file(f), dir(d), dir(d + "/.")}, policy());
  ASSERT_EQ(found.plugins.size(), 1u);
  EXPECT_EQ(found.plugins[0].status, PluginStatus::ok);
}

TEST(PluginDiscovery, RefusedPluginStillClaimsItsName) {
  plugin_test::TempDir tmp;
  const std::string first = tmp.folder("first"), second = tmp.folder("second");
  tmp.copy(plugin_test::fixture("stable"), first, "stable.so", 0666);
  tmp.copy(plugin_test::fixture("duplicate"), second, "duplicate.so");
  const auto found = discover_plugins({dir(first), dir(second)}, policy());
  ASSERT_EQ(found.plugins.size(), 2u);
  EXPECT_EQ(found.plugins[0].status, PluginStatus::refused);
  EXPECT_EQ(found.plugins[1].status, PluginStatus::shadowed) << "a refused plugin must not fall back to another copy";
}

TEST(PluginDiscovery, RefusesFileWritableByOthers) {
  plugin_test::TempDir tmp;
  const std::string d = tmp.folder("plugins");
  const std::string f = tmp.copy(plugin_test::fixture("stable"), d, "stable.so", 0666);
  const auto found = discover_plugins({dir(d)}, policy());
  ASSERT_EQ(found.plugins.size(), 1u);
  const auto& c = found.plugins[0];
  EXPECT_EQ(c.status, PluginStatus::refused);
  ASSERT_TRUE(c.refusal.has_value());
  EXPECT_EQ(c.refusal->rule, "file permissions");
  EXPECT_EQ(c.status_text(), "refused: file permissions: plugin file " + f +
                                 " is writable by others (mode 0666); the host needs it writable only by its "
                                 "owner (use --allow-insecure-plugins to load it anyway)");
  EXPECT_EQ(c.name, "fixture_stable") << "the descriptor is still read and shown";
}

TEST(PluginDiscovery, RefusesFolderWritableByGroup) {
  plugin_test::TempDir tmp;
  const std::string d = tmp.folder("plugins", 0775);
  tmp.copy(plugin_test::fixture("stable"), d, "stable.so");
  const auto found = discover_plugins({dir(d)}, policy());
  ASSERT_EQ(found.plugins.size(), 1u);
  EXPECT_EQ(found.plugins[0].status, PluginStatus::refused);
  EXPECT_NE(found.plugins[0].reason.find("plugin folder " + d + " is writable by its group (mode 0775)"),
            std::string::npos)
      << found.plugins[0].reason;
}

TEST(PluginDiscovery, AllowInsecureSkipsPermissionRule) {
  plugin_test::TempDir tmp;
  const std::string d = tmp.folder("plugins", 0777);
  tmp.copy(plugin_test::fixture("stable"), d, "stable.so", 0666);
  PluginPolicy p = policy();
  p.allow_insecure = true;
  const auto found = discover_plugins({dir(d)}, p);
  ASSERT_EQ(found.plugins.size(), 1u);
  EXPECT_EQ(found.plugins[0].status, PluginStatus::ok) << found.plugins[0].reason;
}

// Needs root to give the file away, as in CI ("make test" runs as root on a fresh machine).
TEST(PluginDiscovery, RefusesFileOwnedByAnotherUser) {
  plugin_test::TempDir tmp;
  const std::string d = tmp.folder("plugins");
  const std::string f = tmp.copy(plugin_test::fixture("stable"), d, "stable.so");
  ASSERT_EQ(::chown(f.c_str(), 12345, 12345), 0) << "this test must run as root";
  const std::string problem = trl::host::file_security_problem(f);
  EXPECT_NE(problem.find("is owned by uid 12345"), std::string::npos) << problem;
  const auto found = discover_plugins({dir(d)}, policy());
  EXPECT_EQ(found.plugins[0].status, PluginStatus::refused);
}

TEST(PluginDiscovery, SymlinkIntoWritableFolderIsRefused) {
  plugin_test::TempDir tmp;
  const std::string open_dir = tmp.folder("open", 0777);
  const std::string target = tmp.copy(plugin_test::fixture("stable"), open_dir, "stable.so");
  const std::string d = tmp.folder("plugins");
  std::filesystem::create_symlink(target, d + "/stable.so");
  const std::string problem = trl::host::file_security_problem(d + "/stable.so");
  EXPECT_NE(problem.find("plugin folder " + open_dir + " is writable by others"), std::string::npos) << problem;
}

TEST(PluginDiscovery, TextFileNamedSoIsNotAPlugin) {
  plugin_test::TempDir tmp;
  const std::string d = tmp.folder("plugins");
  const std::string text = "not a library\n";
  tmp.write(d, "fake.so", std::vector<uint8_t>(text.begin(), text.end()));
  const auto found = discover_plugins({dir(d)}, policy());
  ASSERT_EQ(found.plugins.size(), 1u);
  EXPECT_EQ(found.plugins[0].status, PluginStatus::not_plugin);
  EXPECT_EQ(found.plugins[0].status_text(), "not a plugin: not an ELF file (no \\x7fELF magic at the start)");
  EXPECT_TRUE(found.plugins[0].name.empty());
}

TEST(PluginDiscovery, TruncatedPluginIsNotAPlugin) {
  plugin_test::TempDir tmp;
  const std::string d = tmp.folder("plugins");
  std::vector<uint8_t> bytes = plugin_test::read_bytes(plugin_test::fixture("stable"));
  bytes.resize(bytes.size() / 3);
  tmp.write(d, "truncated.so", bytes);
  const auto found = discover_plugins({dir(d)}, policy());
  ASSERT_EQ(found.plugins.size(), 1u);
  EXPECT_EQ(found.plugins[0].status, PluginStatus::not_plugin);
  EXPECT_NE(found.plugins[0].reason.find("truncated or corrupt ELF"), std::string::npos) << found.plugins[0].reason;
}

TEST(PluginDiscovery, EachVersionRuleRefusesItsFixture) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"abi_major", "SDK ABI major: "},   {"abi_minor", "SDK ABI minor: "}, {"torch_other", "LibTorch: "},
      {"cxx11_abi", "C++ ABI: "},         {"bad_stability", "stability: "},  {"wrong_size", "descriptor size: "},
      {"marker_refused", "SDK ABI major: "}};
  for (const auto& [fixture, rule] : cases) {
    const auto c = trl::host::examine_plugin_file(plugin_test::fixture(fixture), "test", policy());
    EXPECT_EQ(c.status, PluginStatus::refused) << fixture;
    EXPECT_EQ(c.reason.rfind(rule, 0), 0u) << fixture << ": " << c.reason;
  }
  EXPECT_EQ(trl::host::examine_plugin_file(plugin_test::fixture("no_descriptor"), "test", policy()).status,
            PluginStatus::not_plugin);
}

TEST(PluginDiscovery, StableOnlyRefusesExperimental) {
  PluginPolicy p = policy();
  p.stable_only = true;
  const auto experimental = trl::host::examine_plugin_file(plugin_test::fixture("experimental"), "test", p);
  EXPECT_EQ(experimental.status, PluginStatus::refused);
  EXPECT_EQ(experimental.refusal->rule, "stable-only");
  const auto stable = trl::host::examine_plugin_file(plugin_test::fixture("stable"), "test", p);
  EXPECT_EQ(stable.status, PluginStatus::ok);
}

TEST(PluginDiscovery, MissingNamedFolderIsAProblemDefaultIsNot) {
  const auto found = discover_plugins({dir("/nonexistent/trl/a"), {"/nonexistent/trl/b", false, "default"}}, policy());
  EXPECT_TRUE(found.plugins.empty());
  ASSERT_EQ(found.problems.size(), 1u);
  EXPECT_EQ(found.problems[0], "--plugin-dir /nonexistent/trl/a: not a folder, skipped");
}

TEST(PluginDiscovery, MissingExplicitFileIsListedAsUnreadable) {
  const auto found = discover_plugins({file("/nonexistent/trl/x.so")}, policy());
  ASSERT_EQ(found.plugins.size(), 1u);
  EXPECT_EQ(found.plugins[0].status, PluginStatus::not_plugin);
  EXPECT_NE(found.plugins[0].reason.find("No such file"), std::string::npos) << found.plugins[0].reason;
}

}  // namespace
