// The component sources `plugins new` writes for a reward, a callback and a group filter
// (plugins_new_templates.h). Each compiles warning-free (-Wall -Wextra) against the installed SDK alone;
// tests/authoring/install_build_test.sh builds every one with -Werror and loads it.
#include "plugins_new_templates.h"

namespace trl::host::new_plugin_text {

std::string reward_source() {
  return R"cpp(// @NAME@: a trl-host plugin with one reward function, `@NAME@` (written by `trl-host plugins new`).
//
// The reward scores each completion by the share of `keywords` it contains, in [0, 1]. Replace score()
// with your own logic; declare every parameter in params(), so that the host validates run configs
// against it (unknown key, wrong type, out of range: all named) and `trl-host plugins info` shows it.
// Return std::nullopt for a completion the reward does not apply to (TRL's None).
#include <cctype>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <trl/sdk/params.h>
#include <trl/sdk/plugin.h>

namespace {

/// The reward's parameters.
trl::ParamTable params() {
  trl::ParamTable t;
  t.add("keywords", trl::ParamType::string_list, nlohmann::json::array(), "words to look for in each completion")
      .make_required()
      .accept_single();
  t.add("case_sensitive", trl::ParamType::boolean, false, "compare letters case-sensitively (ASCII)");
  return t;
}

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

/// Share of the keywords found in each completion.
class KeywordShareReward : public trl::RewardFunction {
 public:
  explicit KeywordShareReward(const trl::Args& args)
      : keywords_(args.strings("keywords")), case_sensitive_(args.boolean("case_sensitive")) {
    // A check the table cannot express: fail() throws a ConfigError naming the key and the config.
    if (keywords_.empty()) args.fail("keywords", "expected at least one keyword");
    for (std::string& k : keywords_) {
      if (k.empty()) args.fail("keywords", "an empty keyword would match every completion");
      if (!case_sensitive_) k = lower(k);
    }
  }

  std::vector<std::optional<double>> score(const trl::RewardInput& input) override {
    std::vector<std::optional<double>> scores;
    scores.reserve(input.completions.size());
    for (const std::string& completion : input.completions) {
      const std::string text = case_sensitive_ ? completion : lower(completion);
      size_t found = 0;
      for (const std::string& k : keywords_) found += text.find(k) != std::string::npos ? 1 : 0;
      scores.push_back(static_cast<double>(found) / static_cast<double>(keywords_.size()));
    }
    return scores;
  }

 private:
  std::vector<std::string> keywords_;
  bool case_sensitive_ = false;
};

}  // namespace

// Experimental until you write TRL_PLUGIN_STABLE (same arguments). The version comes from the build.
TRL_PLUGIN("@NAME@", "Apache-2.0", "@NAME@: a reward function", TRL_REWARD("@NAME@"));

void trl_plugin_register(trl::Registry& registry) {
  registry.add_reward(
      "@NAME@", params(), [](const trl::Args& args) { return std::make_unique<KeywordShareReward>(args); },
      "share of `keywords` found in the completion");
}
)cpp";
}

std::string callback_source() {
  return R"cpp(// @NAME@: a trl-host plugin with one callback, `@NAME@` (written by `trl-host plugins new`).
//
// The callback stops training when a logged metric has not improved for `patience` logged values (as
// transformers' EarlyStoppingCallback, on any metric of metrics.jsonl: loss, eval_loss, rewards/...).
// Setting control.should_training_stop makes the loop save a checkpoint and end the run normally.
// Override only the events you need (trl/sdk/plugin.h lists them); each gets the state, the control
// flags, the model, the reference model and the optimizer (trl/sdk/train/loop.h).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>
#include <trl/sdk/log.h>
#include <trl/sdk/params.h>
#include <trl/sdk/plugin.h>
#include <trl/sdk/train/loop.h>

namespace {

/// The callback's parameters.
trl::ParamTable params() {
  trl::ParamTable t;
  t.add("metric", trl::ParamType::string, "loss", "the logged metric to watch, e.g. loss or eval_loss");
  t.add("mode", trl::ParamType::string, "min", "min: lower is better; max: higher is better").one_of({"min", "max"});
  t.add("patience", trl::ParamType::integer, 3, "logged values without improvement before training stops")
      .at_least(1);
  t.add("min_delta", trl::ParamType::number, 0.0, "an improvement must be larger than this").at_least(0);
  return t;
}

/// Stops training when `metric` stops improving.
class EarlyStopping : public trl::Callback {
 public:
  explicit EarlyStopping(const trl::Args& args)
      : metric_(args.string("metric")),
        maximize_(args.string("mode") == "max"),
        patience_(args.integer("patience")),
        min_delta_(args.number("min_delta")) {}

  void on_log(trl::CallbackArgs& args, const nlohmann::json& logs) override {
    const auto it = logs.find(metric_);
    if (it == logs.end() || !it->is_number()) return;  // e.g. the final summary, or eval metrics only
    const double value = it->get<double>();
    const bool improved = !best_ || (maximize_ ? value > *best_ + min_delta_ : value < *best_ - min_delta_);
    if (improved) {
      best_ = value;
      stale_ = 0;
      return;
    }
    if (++stale_ < patience_) return;
    trl::log::info("@NAME@: " + metric_ + " has not improved on " + std::to_string(*best_) + " for " +
                   std::to_string(stale_) + " logged values; stopping after step " +
                   std::to_string(args.state.global_step));
    args.control.should_training_stop = true;
  }

 private:
  std::string metric_;
  bool maximize_ = false;
  int64_t patience_ = 3;
  double min_delta_ = 0.0;
  std::optional<double> best_;
  int64_t stale_ = 0;  ///< logged values since the last improvement
};

}  // namespace

// Experimental until you write TRL_PLUGIN_STABLE (same arguments). The version comes from the build.
TRL_PLUGIN("@NAME@", "Apache-2.0", "@NAME@: a callback", TRL_CALLBACK("@NAME@"));

void trl_plugin_register(trl::Registry& registry) {
  registry.add_callback(
      "@NAME@", params(), [](const trl::Args& args) { return std::make_unique<EarlyStopping>(args); },
      "stops training when a logged metric has not improved for `patience` logged values");
}
)cpp";
}

std::string group_filter_source() {
  return R"cpp(// @NAME@: a trl-host plugin with one group filter, `@NAME@` (written by `trl-host plugins new`).
//
// GFPO samples num_generations completions per prompt and trains on the num_remains_in_group that a
// group filter scores highest (ties keep the earlier completion). This one prefers high reward and, among
// similar rewards, short completions: score = reward - alpha * length / (longest length in the group).
// Override num_to_keep() as well to keep a different number per group (trl/sdk/plugin.h).
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <trl/sdk/params.h>
#include <trl/sdk/plugin.h>

namespace {

/// The filter's parameters.
trl::ParamTable params() {
  trl::ParamTable t;
  t.add("alpha", trl::ParamType::number, 0.5, "weight of the length penalty (0 = reward only)").at_least(0);
  return t;
}

/// Reward minus a length penalty relative to the group's longest completion.
class RewardPerLengthFilter : public trl::GroupFilter {
 public:
  explicit RewardPerLengthFilter(const trl::Args& args) : alpha_(args.number("alpha")) {}

  std::vector<double> score(const trl::CompletionGroup& group) override {
    int64_t longest = 1;
    for (int64_t length : group.lengths) longest = std::max(longest, length);
    std::vector<double> scores(group.rewards.size());
    for (size_t i = 0; i < scores.size(); ++i)
      scores[i] = group.rewards[i] - alpha_ * static_cast<double>(group.lengths[i]) / static_cast<double>(longest);
    return scores;
  }

 private:
  double alpha_ = 0.5;
};

}  // namespace

// Experimental until you write TRL_PLUGIN_STABLE (same arguments). The version comes from the build.
TRL_PLUGIN("@NAME@", "Apache-2.0", "@NAME@: a group filter", TRL_GROUP_FILTER("@NAME@"));

void trl_plugin_register(trl::Registry& registry) {
  registry.add_group_filter(
      "@NAME@", params(), [](const trl::Args& args) { return std::make_unique<RewardPerLengthFilter>(args); },
      "keeps high-reward completions, preferring short ones: reward - alpha * length / longest");
}
)cpp";
}

}  // namespace trl::host::new_plugin_text
