// The plugin's entry file: what it is (TRL_PLUGIN: name, license, description, components) and how its
// components are built (trl_plugin_register). The components themselves live in my_plugin_core, which
// the unit tests link directly, as the shipped plugins do.
#include <memory>

#include <trl/sdk/plugin.h>

#include "csv_log_callback.h"
#include "keyword_reward.h"

// Experimental: trl-host warns once per run that its API may change. For a plugin whose component
// names, parameters and outputs follow semver, write TRL_PLUGIN_STABLE with the same arguments.
TRL_PLUGIN("my_plugin", "Apache-2.0", "Example plugin: a keyword reward and a CSV metrics logger",
           TRL_REWARD("keyword"), TRL_CALLBACK("csv_log"));

void trl_plugin_register(trl::Registry& registry) {
  registry.add_reward(
      "keyword", my_plugin::keyword_reward_params(),
      [](const trl::Args& args) { return std::make_unique<my_plugin::KeywordReward>(args); },
      "share of keywords (from args or a dataset column) found in the completion");
  registry.add_callback(
      "csv_log", my_plugin::csv_log_params(),
      [](const trl::Args& args) { return std::make_unique<my_plugin::CsvLogCallback>(args); },
      "writes chosen metrics of every log step to a CSV file");
}
