// The plugin search path (DESIGN.md "Discovery order"): --plugin files, --plugin-dir folders,
// TRL_PLUGIN_PATH, then the default folder next to the executable, which TRL_PLUGIN_SYSTEM_PATH replaces.
#include <stdlib.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "host_setup.h"
#include "scoped_env.h"

namespace {

using test_support::ScopedEnv;

TEST(HostSearchPath, OrderIsFilesDirsEnvThenDefault) {
  ScopedEnv path("TRL_PLUGIN_PATH", "/env/one::/env/two");
  ScopedEnv system("TRL_PLUGIN_SYSTEM_PATH", nullptr);
  trl::host::CommonOptions common;
  common.plugin_files = {"/files/a.so"};
  common.plugin_dirs = {"/dirs/x", "/dirs/y"};
  const auto entries = trl::host::plugin_search_path(common);
  ASSERT_EQ(entries.size(), 6u);
  EXPECT_EQ(entries[0].path, "/files/a.so");
  EXPECT_TRUE(entries[0].is_file);
  EXPECT_EQ(entries[0].origin, "--plugin");
  EXPECT_EQ(entries[1].path, "/dirs/x");
  EXPECT_EQ(entries[2].path, "/dirs/y");
  EXPECT_EQ(entries[3].path, "/env/one");
  EXPECT_EQ(entries[4].path, "/env/two");
  EXPECT_EQ(entries[4].origin, "TRL_PLUGIN_PATH");
  EXPECT_EQ(entries[5].origin, "default");
  EXPECT_EQ(entries[5].path,
            (std::filesystem::path(trl::host::executable_dir()) / ".." / "lib" / "trl" / "plugins")
                .lexically_normal()
                .string());
}

TEST(HostSearchPath, SystemPathReplacesDefault) {
  ScopedEnv path("TRL_PLUGIN_PATH", nullptr);
  ScopedEnv system("TRL_PLUGIN_SYSTEM_PATH", "/sys/a:/sys/b");
  const auto entries = trl::host::plugin_search_path(trl::host::CommonOptions{});
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].path, "/sys/a");
  EXPECT_EQ(entries[1].path, "/sys/b");
  EXPECT_EQ(entries[1].origin, "TRL_PLUGIN_SYSTEM_PATH");
}

TEST(HostSearchPath, RelativePathsBecomeAbsolute) {
  ScopedEnv path("TRL_PLUGIN_PATH", nullptr);
  ScopedEnv system("TRL_PLUGIN_SYSTEM_PATH", "");
  trl::host::CommonOptions common;
  common.plugin_dirs = {"rel/dir"};
  const auto entries = trl::host::plugin_search_path(common);
  ASSERT_EQ(entries.size(), 1u) << "an empty TRL_PLUGIN_SYSTEM_PATH still replaces the default";
  EXPECT_EQ(entries[0].path, (std::filesystem::current_path() / "rel" / "dir").string());
}

}  // namespace
