// Loading in this process: the steps after the pre-load checks (dlopen with the raw dlerror, symbols,
// descriptor comparison, init, registration match), the once-per-process table, and shutdown. Only
// fixtures that cannot hurt the test process are loaded here; the crashing ones run under `plugins check`.
#include <stdlib.h>

#include <cstdlib>
#include <cstring>
#include <optional>

#include <gtest/gtest.h>

#include "plugin_discovery.h"
#include "plugin_loader.h"
#include "plugin_test_support.h"

namespace {

using trl::host::load_plugin;
using trl::host::PluginLoadError;

trl::host::PluginCandidate candidate(const std::string& fixture) {
  trl::host::PluginPolicy policy;
  policy.host = trl::host::host_abi();
  auto c = trl::host::examine_plugin_file(plugin_test::fixture(fixture), "test", policy);
  EXPECT_EQ(c.status, trl::host::PluginStatus::ok) << c.reason;
  return c;
}

// The error of loading `fixture`, which must fail.
PluginLoadError load_error(const std::string& fixture) {
  try {
    load_plugin(candidate(fixture));
  } catch (const PluginLoadError& e) {
    return e;
  }
  ADD_FAILURE() << fixture << " loaded";
  return PluginLoadError("", "", "", "");
}

TEST(PluginLoader, LoadsStableFixtureWithItsDeclaredComponents) {
  const auto c = candidate("stable");
  trl::host::LoadedPlugin& p = load_plugin(c);
  EXPECT_EQ(p.name(), "fixture_stable");
  EXPECT_EQ(p.path(), c.path);
  EXPECT_EQ(std::memcmp(&p.descriptor(), &c.descriptor(), sizeof c.descriptor()), 0);
  ASSERT_EQ(p.components().size(), 4u);
  const trl::ComponentEntry* reward = p.find(trl::ComponentKind::reward, "completion_length");
  ASSERT_NE(reward, nullptr);
  EXPECT_NE(reward->params.find("scale"), nullptr);
  EXPECT_EQ(p.find(trl::ComponentKind::trainer, "completion_length"), nullptr) << "names are per kind";
  EXPECT_NE(p.find(trl::ComponentKind::trainer, "constant_trainer"), nullptr);
}

TEST(PluginLoader, SameFileIsLoadedOnce) {
  const auto c = candidate("stable");
  EXPECT_EQ(&load_plugin(c), &load_plugin(c));
}

TEST(PluginLoader, RefusesRegistrationsThatDifferFromTheDeclaration) {
  const PluginLoadError e = load_error("undeclared");
  EXPECT_EQ(e.step(), "registrations");
  EXPECT_EQ(e.detail(),
            "declared but not registered by init: reward 'declared_b'; registered but not declared: reward "
            "'undeclared_c'");
  EXPECT_EQ(std::string(e.what()).rfind("refused " + plugin_test::fixture("undeclared") + ": registrations: ", 0), 0u)
      << e.what();
}

TEST(PluginLoader, InitFailureCarriesThePluginsMessage) {
  const PluginLoadError e = load_error("init_throws");
  EXPECT_EQ(e.step(), "init");
  EXPECT_EQ(e.detail(), "trl_plugin_init_v1 returned 1: fixture_init_throws: init failed on purpose");
}

TEST(PluginLoader, DescriptorRewrittenInMemoryIsRefused) {
  const PluginLoadError e = load_error("mutating_descriptor");
  EXPECT_EQ(e.step(), "descriptor match");
  EXPECT_NE(e.detail().find("differs from the file's trl_desc section"), std::string::npos) << e.detail();
}

TEST(PluginLoader, MissingEntryPointIsNamed) {
  const PluginLoadError e = load_error("missing_init");
  EXPECT_EQ(e.step(), "symbols");
  EXPECT_NE(e.detail().find("undefined symbol: trl_plugin_init_v1"), std::string::npos) << e.detail();
}

TEST(PluginLoader, MissingDependencyShowsRawDlerror) {
  const PluginLoadError e = load_error("missing_dep");
  EXPECT_EQ(e.step(), "dlopen");
  EXPECT_EQ(e.detail(), "libtrl_fixture_gone.so: cannot open shared object file: No such file or directory");
  EXPECT_EQ(e.verb(), "failed to load");
}

TEST(PluginLoader, FailedLoadIsNotRetried) {
  const PluginLoadError first = load_error("init_throws");
  const PluginLoadError second = load_error("init_throws");
  EXPECT_STREQ(first.what(), second.what());
}

TEST(PluginLoader, RefusesToLoadACandidateThatFailedTheChecks) {
  trl::host::PluginPolicy policy;
  policy.host = trl::host::host_abi();
  const auto c = trl::host::examine_plugin_file(plugin_test::fixture("abi_major"), "test", policy);
  try {
    load_plugin(c);
    FAIL() << "a refused plugin was loaded";
  } catch (const trl::PluginError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("refused " + c.path + ": SDK ABI major: ", 0), 0u) << e.what();
  }
}

TEST(PluginLoader, HostApiCarriesTheSdkAbi) {
  const trl_host_api_v1& api = trl::host::host_api();
  EXPECT_EQ(api.struct_size, sizeof(trl_host_api_v1));
  EXPECT_EQ(api.abi_major, static_cast<uint32_t>(TRL_SDK_ABI_MAJOR));
  EXPECT_EQ(api.abi_minor, static_cast<uint32_t>(TRL_SDK_ABI_MINOR));
  EXPECT_STREQ(api.host_version, TRL_SDK_VERSION);
}

TEST(PluginLoader, ShutdownDestroysFactoriesAndIsIdempotent) {
  const auto c = candidate("stable");
  boost::dll::shared_library library = trl::host::open_plugin_library(c.path);
  const trl::host::PluginEntryPoints entry = trl::host::resolve_entry_points(library, c.path);
  trl::host::LoadedPlugin plugin(c.path, std::move(library), entry, trl::host::run_plugin_init(entry, c.path));
  EXPECT_EQ(plugin.components().size(), 4u);
  plugin.shutdown();
  EXPECT_TRUE(plugin.components().empty());
  plugin.shutdown();
  EXPECT_TRUE(plugin.components().empty());
}

// In a fresh process (the threadsafe death-test style re-executes this binary for just this test): load
// two plugins, exit normally, and read the order their shutdown hooks ran in. The re-executed child
// inherits the log path through the environment.
TEST(PluginLoaderDeathTest, ShutsDownInReverseLoadOrderAtExit) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const char* inherited = getenv("TRL_FIXTURE_SHUTDOWN_LOG");
  std::optional<plugin_test::TempDir> tmp;
  if (inherited == nullptr) tmp.emplace();
  const std::string log = inherited != nullptr ? inherited : tmp->path() + "/shutdown.log";
  setenv("TRL_FIXTURE_SHUTDOWN_LOG", log.c_str(), 1);
  EXPECT_EXIT(
      {
        load_plugin(candidate("stable"));
        load_plugin(candidate("factory_throws"));
        std::exit(0);
      },
      testing::ExitedWithCode(0), "");
  unsetenv("TRL_FIXTURE_SHUTDOWN_LOG");
  EXPECT_EQ(plugin_test::slurp(log), "fixture_factory_throws\nfixture_stable\n");
}

}  // namespace
