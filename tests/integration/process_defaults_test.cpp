// trl-host's OpenMP wait policy (host/src/process_defaults.cpp) as libgomp sees it: OMP_DISPLAY_ENV=VERBOSE
// makes libgomp print its settings when it loads, which is after the re-execution where there is one.
// TRL_OPENMP_PASSIVE comes from CMakeLists.txt: 1 where the BLAS has a thread pool of its own (Debian's
// LibTorch), 0 where it runs on libgomp's pool (the PyPI wheel's).
#include <stdlib.h>

#include <map>
#include <string>

#include <gtest/gtest.h>

#include "host_process.h"

namespace {

using host_process::Result;

/// The spin count libgomp printed ("  GOMP_SPINCOUNT = '300000'"); the passive policy makes it 0.
std::string spin_count(const Result& r) {
  const std::string key = "GOMP_SPINCOUNT = '";
  const size_t at = r.err.find(key);
  if (at == std::string::npos) return "not printed";
  const size_t from = at + key.size();
  return r.err.substr(from, r.err.find('\'', from) - from);
}

class ProcessDefaults : public ::testing::Test {
 protected:
  // The runs inherit this process's environment: a policy set by whoever runs the tests would be kept.
  void SetUp() override {
    unsetenv("OMP_WAIT_POLICY");
    unsetenv("GOMP_SPINCOUNT");
  }

  /// A computing command that stops at once: `train` on a config that does not exist.
  Result computing(const std::map<std::string, std::string>& env = {}) {
    std::map<std::string, std::string> all = env;
    all["OMP_DISPLAY_ENV"] = "VERBOSE";
    return host_process::run(dir.path(), {"train", dir.path("missing.yaml")}, all);
  }
  /// A command that computes nothing (`plugins list`): never re-executed, so it shows libgomp's own default.
  Result listing() { return host_process::run(dir.path(), {"plugins", "list"}, {{"OMP_DISPLAY_ENV", "VERBOSE"}}); }

  host_process::TempDir dir{"process-defaults"};
};

TEST_F(ProcessDefaults, ComputingCommandsRunWithTheBuildsWaitPolicy) {
  const Result r = computing();
  ASSERT_NE(r.exit_code, 0) << "the missing config was not reported";
  ASSERT_NE(r.err.find("missing.yaml"), std::string::npos) << r.err;
  if (TRL_OPENMP_PASSIVE) {
    EXPECT_EQ(spin_count(r), "0") << "the BLAS has its own threads: OpenMP workers must sleep at once\n" << r.err;
  } else {
    const std::string libgomp_default = spin_count(listing());
    ASSERT_NE(libgomp_default, "not printed");
    EXPECT_NE(libgomp_default, "0");
    EXPECT_EQ(spin_count(r), libgomp_default) << "the BLAS runs on libgomp's pool: its default spin is kept\n" << r.err;
  }
}

TEST_F(ProcessDefaults, CommandsThatComputeNothingKeepLibgompsDefault) {
  const Result r = listing();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(spin_count(r), "0") << r.err;
  EXPECT_NE(spin_count(r), "not printed") << r.err;
}

TEST_F(ProcessDefaults, AUsersSettingIsKept) {
  EXPECT_EQ(spin_count(computing({{"GOMP_SPINCOUNT", "1234"}})), "1234");
  const Result active = computing({{"OMP_WAIT_POLICY", "ACTIVE"}});
  EXPECT_NE(active.err.find("OMP_WAIT_POLICY = 'ACTIVE'"), std::string::npos) << active.err;
}

}  // namespace
