// keyword_reward.h: the `keyword` reward: how many of a list of keywords a completion contains.
//
// The keywords come from the component's args or, per row, from a dataset column (so each prompt can
// carry its own). A row without that column scores None (nullopt): the trainer then leaves this reward
// out of the row's total, as TRL does with a reward function that returns None.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <trl/sdk/params.h>
#include <trl/sdk/plugin.h>

namespace my_plugin {

/// The reward's declared parameters: keywords, column, mode, case_sensitive, whole_word.
trl::ParamTable keyword_reward_params();

/// Scores each completion by the keywords it contains: the fraction found, or 1/0 for any/all.
class KeywordReward : public trl::RewardFunction {
 public:
  /// Reads validated keyword_reward_params() values; a ConfigError naming the key if neither `keywords`
  /// nor `column` says where the keywords come from.
  explicit KeywordReward(const trl::Args& args);

  /// One score in [0, 1] per completion; nullopt where `column` is set and the row lacks it (or has null).
  /// A column value that is neither a string nor a list of strings is a DataError naming the column.
  std::vector<std::optional<double>> score(const trl::RewardInput& input) override;

  /// The score of one completion against `keywords` (empty keywords: 0).
  double score_text(const std::string& completion, const std::vector<std::string>& keywords) const;

 private:
  std::vector<std::string> keywords_;
  std::optional<std::string> column_;
  std::string mode_;
  bool case_sensitive_ = false;
  bool whole_word_ = false;
};

/// Whether `text` contains `word`; with `whole_word` the match must not touch an ASCII letter, digit or
/// underscore on either side; without `case_sensitive` ASCII letters compare case-insensitively.
bool contains_keyword(const std::string& text, const std::string& word, bool case_sensitive, bool whole_word);

}  // namespace my_plugin
