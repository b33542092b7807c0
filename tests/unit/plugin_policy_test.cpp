// Stability policy: TRL_EXPERIMENTAL_SILENCE parsing, TRL_STABLE_ONLY / --stable-only, the warning text.
#include <stdlib.h>

#include <gtest/gtest.h>

#include "plugin_policy.h"
#include "scoped_env.h"
#include "trl/sdk/error.h"

namespace {

using trl::host::parse_experimental_silence;

using test_support::ScopedEnv;

TEST(ExperimentalSilence, UnsetEmptyAndZeroSilenceNothing) {
  for (const char* value : {static_cast<const char*>(nullptr), "", "0", " 0 "}) {
    const auto s = parse_experimental_silence(value);
    EXPECT_FALSE(s.all) << (value ? value : "(unset)");
    EXPECT_TRUE(s.names.empty()) << (value ? value : "(unset)");
    EXPECT_FALSE(s.silences("bema"));
  }
}

TEST(ExperimentalSilence, OneTrueYesAllSilenceEverything) {
  for (const char* value : {"1", "true", "yes", "all", "TRUE", "Yes", "ALL"}) {
    const auto s = parse_experimental_silence(value);
    EXPECT_TRUE(s.all) << value;
    EXPECT_TRUE(s.silences("bema")) << value;
    EXPECT_TRUE(s.silences("anything")) << value;
  }
}

TEST(ExperimentalSilence, OtherValuesAreACommaSeparatedList) {
  const auto s = parse_experimental_silence(" bema , gfpo,,");
  EXPECT_FALSE(s.all);
  EXPECT_EQ(s.names, (std::set<std::string>{"bema", "gfpo"}));
  EXPECT_TRUE(s.silences("bema"));
  EXPECT_TRUE(s.silences("gfpo"));
  EXPECT_FALSE(s.silences("dpo"));
  EXPECT_EQ(s.text, " bema , gfpo,,");
}

TEST(ExperimentalSilence, SingleNameSilencesOnlyIt) {
  const auto s = parse_experimental_silence("bema");
  EXPECT_TRUE(s.silences("bema"));
  EXPECT_FALSE(s.silences("bema2"));
}

TEST(ExperimentalSilence, WarningStateNamesTheVariable) {
  EXPECT_EQ(trl::host::warning_state("bema", parse_experimental_silence("0")), "shown");
  EXPECT_EQ(trl::host::warning_state("bema", parse_experimental_silence("bema,gfpo")),
            "silenced by TRL_EXPERIMENTAL_SILENCE=bema,gfpo");
}

TEST(ExperimentalWarning, TextNamesPluginPromiseAndSilencer) {
  const std::string text = trl::host::experimental_warning_text("gfpo", "0.3.0");
  EXPECT_NE(text.find("plugin 'gfpo' 0.3.0 is EXPERIMENTAL"), std::string::npos) << text;
  EXPECT_NE(text.find("may change or be removed in any release"), std::string::npos) << text;
  EXPECT_NE(text.find("TRL_EXPERIMENTAL_SILENCE=1"), std::string::npos) << text;
  EXPECT_NE(text.find("TRL_EXPERIMENTAL_SILENCE=gfpo"), std::string::npos) << text;
}

TEST(StableOnly, FlagTurnsItOn) {
  ScopedEnv env("TRL_STABLE_ONLY", nullptr);
  trl::host::CommonOptions common;
  EXPECT_FALSE(trl::host::stable_only(common));
  common.stable_only = true;
  EXPECT_TRUE(trl::host::stable_only(common));
}

TEST(StableOnly, EnvironmentOneTurnsItOn) {
  const trl::host::CommonOptions common;
  for (const char* on : {"1", "true", "yes"}) {
    ScopedEnv env("TRL_STABLE_ONLY", on);
    EXPECT_TRUE(trl::host::stable_only(common)) << on;
  }
  for (const char* off : {"0", "", "false", "no"}) {
    ScopedEnv env("TRL_STABLE_ONLY", off);
    EXPECT_FALSE(trl::host::stable_only(common)) << off;
  }
}

TEST(StableOnly, OtherValueIsAConfigError) {
  ScopedEnv env("TRL_STABLE_ONLY", "maybe");
  try {
    trl::host::stable_only(trl::host::CommonOptions{});
    FAIL() << "expected ConfigError";
  } catch (const trl::ConfigError& e) {
    EXPECT_STREQ(e.what(), "environment: TRL_STABLE_ONLY: expected 1 or 0, got 'maybe'");
  }
}

}  // namespace
