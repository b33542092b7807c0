// The component catalog: lookup from descriptors without running plugin code, did-you-mean for unknown
// names, on-demand loading, argument validation (trainers merged with TrainingArguments), the
// experimental warning once per plugin, and guarded components whose errors name plugin, component and call.
#include <stdlib.h>
#include <unistd.h>

#include <stdexcept>

#include <gtest/gtest.h>

#include "component_catalog.h"
#include "guarded_components.h"
#include "plugin_test_support.h"
#include "scoped_env.h"
#include "trl/sdk/error.h"
#include "trl/sdk/train/training_args.h"

namespace {

using trl::ComponentKind;
using trl::host::ComponentCatalog;

using test_support::ScopedEnv;

trl::host::PluginPolicy policy(bool stable_only = false) {
  trl::host::PluginPolicy p;
  p.host = trl::host::host_abi();
  p.stable_only = stable_only;
  return p;
}

// A catalog over exactly these fixtures, as --plugin files in this order.
ComponentCatalog catalog_of(const std::vector<std::string>& fixtures, bool stable_only = false) {
  std::vector<trl::host::SearchEntry> path;
  for (const std::string& f : fixtures) path.push_back({plugin_test::fixture(f), true, "--plugin"});
  return ComponentCatalog(trl::host::discover_plugins(path, policy(stable_only)));
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

trl::RewardInput two_completions() {
  trl::RewardInput in;
  in.prompts = {"p", "p"};
  in.completions = {"abc", "a"};
  in.completion_ids = {{1, 2, 3}, {1}};
  in.columns = {nlohmann::json::object(), nlohmann::json::object()};
  return in;
}

TEST(ComponentCatalog, NamesAndLookupRunNoPluginCode) {
  plugin_test::TempDir tmp;
  const std::string marker = tmp.path() + "/marker";
  ScopedEnv env("TRL_FIXTURE_MARKER", marker.c_str());
  ComponentCatalog catalog = catalog_of({"marker_ok", "marker_refused", "stable"});
  EXPECT_EQ(catalog.names(ComponentKind::reward), (std::vector<std::string>{"completion_length", "marker_zero"}));
  EXPECT_EQ(catalog.locate(ComponentKind::reward, "marker_zero", "run.json", "name").name, "fixture_marker");
  EXPECT_NE(::access(marker.c_str(), F_OK), 0) << "discovery and lookup must not run plugin code";
  // The control: building the component loads the plugin, whose static constructor leaves the marker.
  catalog.make_reward(nlohmann::json{{"name", "marker_zero"}}, "run.json: reward_funcs[0]");
  EXPECT_EQ(::access(marker.c_str(), F_OK), 0);
}

TEST(ComponentCatalog, UnknownNameSuggestsTheClosest) {
  ComponentCatalog catalog = catalog_of({"stable"});
  EXPECT_EQ(error_of([&] {
              catalog.make_reward(nlohmann::json{{"name", "completion_lenght"}}, "run.json: reward_funcs[0]");
            }),
            "run.json: reward_funcs[0]: name: unknown reward 'completion_lenght' (did you mean "
            "'completion_length'?); known: completion_length (see `trl-host plugins list`)");
  EXPECT_THROW(catalog.make_group_filter(nlohmann::json{{"name", "longest"}}, "run.json: group_filter"),
               trl::ConfigError);
}

TEST(ComponentCatalog, UnknownKindSaysNoPluginDeclaresIt) {
  ComponentCatalog catalog = catalog_of({"experimental"});
  EXPECT_EQ(error_of([&] { catalog.make_trainer("dpo", nlohmann::json::object(), "run.json"); }),
            "run.json: trainer: unknown trainer 'dpo'; no usable plugin on the search path declares a trainer "
            "(see `trl-host plugins list`)");
}

TEST(ComponentCatalog, ComponentOfRefusedPluginNamesTheRule) {
  ComponentCatalog catalog = catalog_of({"experimental"}, /*stable_only=*/true);
  const std::string e = error_of([&] { catalog.make_reward("constant_reward", "run.json: reward_funcs[0]"); });
  EXPECT_NE(e.find("reward 'constant_reward' is provided by plugin 'fixture_experimental', refused "),
            std::string::npos)
      << e;
  EXPECT_NE(e.find(": stable-only: plugin is experimental"), std::string::npos) << e;
  EXPECT_THROW(catalog.make_reward("constant_reward", "x"), trl::PluginError);
}

TEST(ComponentCatalog, BuildsRewardWithValidatedArgs) {
  ComponentCatalog catalog = catalog_of({"stable"});
  auto reward = catalog.make_reward(nlohmann::json{{"name", "completion_length"}, {"args", {{"scale", 2.0}}}},
                                    "run.json: reward_funcs[0]");
  const auto scores = reward->score(two_completions());
  ASSERT_EQ(scores.size(), 2u);
  EXPECT_EQ(scores[0], 6.0);
  EXPECT_EQ(scores[1], 2.0);
  auto by_name = catalog.make_reward("completion_length", "run.json: reward_funcs[1]");
  EXPECT_EQ(by_name->score(two_completions())[0], 3.0) << "a bare name uses the defaults";
}

TEST(ComponentCatalog, ArgsErrorsNameTheKey) {
  ComponentCatalog catalog = catalog_of({"stable"});
  EXPECT_EQ(error_of([&] {
              catalog.make_reward(nlohmann::json{{"name", "completion_length"}, {"args", {{"scal", 2}}}},
                                  "run.json: reward_funcs[0]");
            }),
            "run.json: reward_funcs[0]: args: scal: unknown parameter (did you mean \"scale\"?)");
  EXPECT_THROW(catalog.make_reward(nlohmann::json{{"name", "completion_length"}, {"args", {{"scale", -1}}}}, "x"),
               trl::ConfigError);
}

TEST(ComponentCatalog, SpecShapeIsChecked) {
  ComponentCatalog catalog = catalog_of({"stable"});
  EXPECT_EQ(error_of([&] { catalog.make_reward(nlohmann::json{{"nmae", "completion_length"}}, "run.json: r"); }),
            "run.json: r: nmae: unknown key; a component spec has \"name\" and \"args\" (did you mean \"name\"?)");
  EXPECT_EQ(error_of([&] { catalog.make_reward(nlohmann::json(3), "run.json: r"); }),
            "run.json: r: expected {\"name\": ..., \"args\": {...}} or a name, got 3");
  EXPECT_EQ(error_of([&] { catalog.make_reward(nlohmann::json{{"args", nlohmann::json::object()}}, "run.json: r"); }),
            "run.json: r: name: expected the reward's name as a string, got nothing");
  EXPECT_EQ(error_of([&] {
              catalog.make_reward(nlohmann::json{{"name", "completion_length"}, {"args", {1, 2}}}, "run.json: r");
            }),
            "run.json: r: args: expected an object, got [1,2]");
}

TEST(ComponentCatalog, TrainerArgsMergeTrainingArguments) {
  ComponentCatalog catalog = catalog_of({"stable"});
  trl::host::BuiltTrainer built = catalog.make_trainer(
      "constant_trainer", nlohmann::json{{"output_dir", "runs/x"}, {"micro_batches", 3}}, "run.json");
  EXPECT_EQ(built.plugin, "fixture_stable");
  EXPECT_EQ(built.trainer->micro_batches_per_epoch(), 3);
  EXPECT_DOUBLE_EQ(built.args.number("learning_rate"), 1e-6) << "the trainer's own declaration wins";
  EXPECT_DOUBLE_EQ(built.args.number("num_train_epochs"), 3.0) << "shared defaults fill in";
  EXPECT_EQ(built.args.string("output_dir"), "runs/x");
  EXPECT_EQ(trl::TrainingArguments::from_args(built.args).output_dir, "runs/x");
  EXPECT_EQ(
      error_of([&] {
        catalog.make_trainer("constant_trainer", nlohmann::json{{"output_dir", "x"}, {"max_step", 1}}, "run.json");
      }),
      "run.json: args: max_step: unknown parameter (did you mean \"max_steps\"?)");
}

TEST(ComponentCatalog, MergedTableKeepsSharedOrderAndAppendsOwnKeys) {
  trl::ParamTable shared, own;
  shared.add("learning_rate", trl::ParamType::number, 5e-5, "shared");
  shared.add("seed", trl::ParamType::integer, 42, "shared");
  own.add("beta", trl::ParamType::number, 0.1, "own");
  own.add("learning_rate", trl::ParamType::number, 1e-6, "own default");
  const trl::ParamTable merged = trl::host::merge_trainer_params(shared, own);
  ASSERT_EQ(merged.specs().size(), 3u);
  EXPECT_EQ(merged.specs()[0].name, "learning_rate");
  EXPECT_EQ(merged.specs()[0].default_value, 1e-6);
  EXPECT_EQ(merged.specs()[1].name, "seed");
  EXPECT_EQ(merged.specs()[2].name, "beta");
}

TEST(ComponentCatalog, FactoryExceptionNamesPluginComponentAndCall) {
  ComponentCatalog catalog = catalog_of({"factory_throws"});
  EXPECT_EQ(error_of([&] { catalog.make_reward("throwing_factory", "run.json: reward_funcs[0]"); }),
            "plugin 'fixture_factory_throws': reward 'throwing_factory': create: fixture: factory failed on purpose");
  EXPECT_THROW(catalog.make_reward("throwing_factory", "x"), trl::PluginError);
  EXPECT_EQ(error_of([&] { catalog.make_reward("null_factory", "x"); }),
            "plugin 'fixture_factory_throws': reward 'null_factory': create: the factory returned null");
}

TEST(ComponentCatalog, FactoryConfigErrorStaysAConfigError) {
  ComponentCatalog catalog = catalog_of({"factory_throws"});
  try {
    catalog.make_reward("config_factory", "run.json: reward_funcs[0]");
    FAIL() << "expected ConfigError";
  } catch (const trl::ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "plugin 'fixture_factory_throws': reward 'config_factory': create: run.json: reward_funcs[0]: args: "
                 "threshold: expected > 0 (checked by the factory), got 0");
  }
}

TEST(ComponentCatalog, CallExceptionNamesPluginComponentAndCall) {
  ComponentCatalog catalog = catalog_of({"factory_throws"});
  auto reward = catalog.make_reward("throwing_score", "x");
  try {
    reward->score(two_completions());
    FAIL() << "expected PluginError";
  } catch (const trl::PluginError& e) {
    EXPECT_STREQ(e.what(),
                 "plugin 'fixture_factory_throws': reward 'throwing_score': score: fixture: score failed on purpose");
  }
}

TEST(ComponentCatalog, TorchErrorIsReportedWithoutBacktrace) {
  ComponentCatalog catalog = catalog_of({"factory_throws"});
  auto reward = catalog.make_reward("torch_check", "x");
  const std::string e = error_of([&] { reward->score(two_completions()); });
  EXPECT_EQ(
      e.rfind("plugin 'fixture_factory_throws': reward 'torch_check': score: fixture: expected 1000 completions, got 2",
              0),
      0u)
      << e;
  EXPECT_EQ(e.find("frame #"), std::string::npos) << "no C++ backtrace in user-facing errors: " << e;
}

TEST(ComponentCatalog, GroupFilterAndCallbackAreBuiltAndGuarded) {
  ComponentCatalog catalog = catalog_of({"stable"});
  auto filter = catalog.make_group_filter(nlohmann::json{{"name", "shortest"}}, "run.json: group_filter");
  trl::CompletionGroup group;
  group.lengths = {5, 2, 9};
  EXPECT_EQ(filter->score(group), (std::vector<double>{-5, -2, -9}));
  EXPECT_EQ(filter->num_to_keep(group, 2), 2);
  EXPECT_NE(catalog.make_callback(nlohmann::json{{"name", "step_counter"}}, "run.json: callbacks[0]"), nullptr);
}

TEST(ComponentCatalog, ExplicitRefusedPluginStopsTheCatalog) {
  plugin_test::TempDir tmp;
  ScopedEnv system("TRL_PLUGIN_SYSTEM_PATH", tmp.path().c_str());
  ScopedEnv path("TRL_PLUGIN_PATH", nullptr);
  ScopedEnv stable("TRL_STABLE_ONLY", nullptr);
  trl::host::CommonOptions common;
  common.plugin_files = {plugin_test::fixture("abi_minor")};
  EXPECT_EQ(error_of([&] { ComponentCatalog catalog(common); }),
            "refused " + plugin_test::fixture("abi_minor") +
                ": SDK ABI minor: plugin built against 1.3, host supports up to 1.0");
  common.plugin_files = {tmp.path() + "/missing.so"};
  EXPECT_THROW(ComponentCatalog catalog(common), trl::ConfigError);
}

// The only unit test that loads fixture_experimental, so its once-per-process warning is still unused.
TEST(ComponentCatalog, ExperimentalWarningOncePerProcess) {
  ScopedEnv silence("TRL_EXPERIMENTAL_SILENCE", nullptr);
  ComponentCatalog catalog = catalog_of({"experimental"});
  testing::internal::CaptureStderr();
  auto first = catalog.make_reward("constant_reward", "run.json: reward_funcs[0]");
  auto second = catalog.make_reward(nlohmann::json{{"name", "constant_reward"}, {"args", {{"value", 2}}}},
                                    "run.json: reward_funcs[1]");
  const std::string err = testing::internal::GetCapturedStderr();
  size_t count = 0;
  for (size_t at = err.find("is EXPERIMENTAL"); at != std::string::npos; at = err.find("is EXPERIMENTAL", at + 1))
    ++count;
  EXPECT_EQ(count, 1u) << err;
  EXPECT_NE(err.find("plugin 'fixture_experimental' 0.1.0 is EXPERIMENTAL"), std::string::npos) << err;
  EXPECT_EQ(second->score(two_completions())[0], 2.0);
}

// Guarded proxies around in-process components (no plugin needed): what each kind of exception becomes.
class Failing final : public trl::GroupFilter {
 public:
  explicit Failing(int mode) : mode_(mode) {}
  std::vector<double> score(const trl::CompletionGroup&) override {
    if (mode_ == 0) throw trl::PluginError("plugin 'inner': reward 'x': score: already attributed");
    if (mode_ == 1) throw trl::ConfigError("run.json", "args.k", "expected 1, got 2");
    if (mode_ == 2) throw 42;
    if (mode_ == 4) throw std::out_of_range("vector::at out of range");
    throw trl::DataError("data.jsonl", 3, "missing prompt");
  }

 private:
  int mode_;
};

std::string guarded_error(int mode) {
  auto filter = trl::host::guard_group_filter(std::make_unique<Failing>(mode), {"p", ComponentKind::group_filter, "f"});
  return error_of([&] { filter->score(trl::CompletionGroup{}); });
}

TEST(GuardedComponents, PluginErrorPassesThroughUnchanged) {
  EXPECT_EQ(guarded_error(0), "plugin 'inner': reward 'x': score: already attributed");
}

TEST(GuardedComponents, ConfigErrorKeepsItsTypeAndGainsThePlugin) {
  auto filter = trl::host::guard_group_filter(std::make_unique<Failing>(1), {"p", ComponentKind::group_filter, "f"});
  EXPECT_THROW(filter->score(trl::CompletionGroup{}), trl::ConfigError);
  EXPECT_EQ(guarded_error(1), "plugin 'p': group_filter 'f': score: run.json: args.k: expected 1, got 2");
}

TEST(GuardedComponents, NonStandardExceptionBecomesPluginError) {
  EXPECT_EQ(guarded_error(2), "plugin 'p': group_filter 'f': score: an exception not derived from std::exception");
}

TEST(GuardedComponents, DataErrorKeepsItsTypeAndGainsThePlugin) {
  auto filter = trl::host::guard_group_filter(std::make_unique<Failing>(3), {"p", ComponentKind::group_filter, "f"});
  EXPECT_THROW(filter->score(trl::CompletionGroup{}), trl::DataError);
  EXPECT_EQ(guarded_error(3), "plugin 'p': group_filter 'f': score: data.jsonl:3: missing prompt");
}

TEST(GuardedComponents, StdExceptionBecomesPluginError) {
  auto filter = trl::host::guard_group_filter(std::make_unique<Failing>(4), {"p", ComponentKind::group_filter, "f"});
  EXPECT_THROW(filter->score(trl::CompletionGroup{}), trl::PluginError);
  EXPECT_EQ(guarded_error(4), "plugin 'p': group_filter 'f': score: vector::at out of range");
}

}  // namespace
