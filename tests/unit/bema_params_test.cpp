// The `bema` callback's parameters (TRL names and defaults, spec/trl-reference.md §2.1-§2.2), their
// validation, and the reference-model refresh schedule.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <ATen/detail/CUDAHooksInterface.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "bema_params.h"
#include "trl/sdk/error.h"

namespace {

using trl::bema::BemaCallbackParams;

std::string config_error(const nlohmann::json& config) {
  try {
    BemaCallbackParams::from_args(trl::bema::bema_param_table().validate(config, "run.json: callbacks[0].args"));
  } catch (const trl::ConfigError& e) {
    return e.what();
  }
  return "";
}

std::vector<int64_t> refresh_steps(const BemaCallbackParams& p, int64_t steps) {
  std::vector<int64_t> out;
  for (int64_t step = 1; step <= steps; ++step)
    if (trl::bema::ref_model_refresh_due(p, step)) out.push_back(step);
  return out;
}

}  // namespace

TEST(BemaParams, DeclaresTrlNamesAndDefaults) {
  const trl::ParamTable t = trl::bema::bema_param_table();
  const nlohmann::json expected = {{"update_freq", 400},       {"ema_power", 0.5},
                                   {"bias_power", 0.2},        {"lag", 10},
                                   {"update_after", 0},        {"multiplier", 1.0},
                                   {"min_ema_multiplier", 0.0}, {"device", "cpu"},
                                   {"update_ref_model", false}, {"ref_model_update_freq", 400},
                                   {"ref_model_update_after", 0}};
  ASSERT_EQ(t.specs().size(), expected.size());
  for (const auto& [name, value] : expected.items()) {
    const trl::ParamSpec* spec = t.find(name);
    ASSERT_NE(spec, nullptr) << name;
    EXPECT_EQ(spec->default_value, value) << name;
    EXPECT_FALSE(spec->help.empty()) << name;
  }
}

TEST(BemaParams, ReadsEveryField) {
  const BemaCallbackParams p = BemaCallbackParams::from_args(trl::bema::bema_param_table().validate(
      {{"update_freq", 2}, {"ema_power", 0.25}, {"bias_power", 0.0}, {"lag", 3}, {"update_after", 5},
       {"multiplier", 2.0}, {"min_ema_multiplier", 0.1}, {"update_ref_model", true},
       {"ref_model_update_freq", 7}, {"ref_model_update_after", 11}},
      "args"));
  EXPECT_EQ(p.bema.update_freq, 2);
  EXPECT_EQ(p.bema.ema_power, 0.25);
  EXPECT_EQ(p.bema.bias_power, 0.0);
  EXPECT_EQ(p.bema.lag, 3);
  EXPECT_EQ(p.bema.update_after, 5);
  EXPECT_EQ(p.bema.multiplier, 2.0);
  EXPECT_EQ(p.bema.min_ema_multiplier, 0.1);
  EXPECT_EQ(p.bema.device, "cpu");
  EXPECT_TRUE(p.update_ref_model);
  EXPECT_EQ(p.ref_model_update_freq, 7);
  EXPECT_EQ(p.ref_model_update_after, 11);
}

TEST(BemaParams, RefusesZeroUpdateFreqNamingKey) {
  const std::string what = config_error({{"update_freq", 0}});
  EXPECT_NE(what.find("run.json: callbacks[0].args: update_freq:"), std::string::npos) << what;
}

TEST(BemaParams, RefusesNonPositiveMultiplierNamingKey) {
  const std::string what = config_error({{"multiplier", 0.0}});
  EXPECT_NE(what.find("multiplier:"), std::string::npos) << what;
}

TEST(BemaParams, RefusesZeroRefModelUpdateFreqNamingKey) {
  const std::string what = config_error({{"ref_model_update_freq", 0}});
  EXPECT_NE(what.find("ref_model_update_freq:"), std::string::npos) << what;
}

TEST(BemaParams, RefusesUnknownDeviceNamingKey) {
  EXPECT_EQ(config_error({{"device", "mps"}}),
            "run.json: callbacks[0].args: device: expected \"cpu\", \"cuda\" or \"cuda:N\", got \"mps\"");
  EXPECT_NE(config_error({{"device", "cuda:x"}}).find("device:"), std::string::npos);
}

TEST(BemaParams, CudaDeviceNeedsCudaInThisProcess) {
  const std::string what = config_error({{"device", "cuda:0"}});
  if (at::detail::getCUDAHooks().hasCUDA()) {
    EXPECT_EQ(what, "");
    EXPECT_NE(config_error({{"device", "cuda:4096"}}).find("does not exist"), std::string::npos);
  } else {
    EXPECT_NE(what.find("device: \"cuda:0\" needs CUDA"), std::string::npos) << what;
  }
}

TEST(BemaParams, ParsesCpuDevice) {
  EXPECT_TRUE(trl::bema::parse_bema_device("cpu", "args", "device").is_cpu());
}

TEST(BemaParams, RefreshNeverDueWithoutUpdateRefModel) {
  BemaCallbackParams p;
  p.ref_model_update_freq = 1;
  EXPECT_TRUE(refresh_steps(p, 20).empty());
}

// spec §2.2: step >= ref_model_update_after and (step - ref_model_update_after) % freq == 0.
TEST(BemaParams, RefreshFollowsTrlSchedule) {
  BemaCallbackParams p;
  p.update_ref_model = true;
  EXPECT_EQ(refresh_steps(p, 1200), (std::vector<int64_t>{400, 800, 1200}));
  p.ref_model_update_freq = 3;
  p.ref_model_update_after = 2;
  // Unlike BEMA's update_after (a snapshot step), the refresh fires at ref_model_update_after itself.
  EXPECT_EQ(refresh_steps(p, 9), (std::vector<int64_t>{2, 5, 8}));
}

// docs/bema.md carries the table `plugins info bema` prints, between markers; regenerate it from
// bema_param_table().markdown() when a parameter changes.
TEST(BemaParams, DocsTableMatchesDeclaration) {
  const std::string path = std::string(TRL_TEST_DATA_DIR) + "/../docs/bema.md";
  std::ifstream in(path);
  ASSERT_TRUE(in) << "cannot open " << path;
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  const std::string begin = "<!-- bema-params:begin -->\n";
  const size_t from = doc.find(begin);
  const size_t to = doc.find("<!-- bema-params:end -->");
  ASSERT_NE(from, std::string::npos);
  ASSERT_NE(to, std::string::npos);
  EXPECT_EQ(doc.substr(from + begin.size(), to - from - begin.size()), trl::bema::bema_param_table().markdown());
}
