// format_reward.h: the built-in `format` reward: 1.0 when the completion matches a PCRE2 pattern, else 0.0.
// The defaults are TRL's think_format_reward: re.match(r"^<think>(?!.*<think>)(.*?)</think>.*$", text,
// re.DOTALL | re.MULTILINE).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "pcre2_regex.h"
#include "trl/sdk/plugin.h"

namespace trl::gfpo {

/// TRL's think_format_reward pattern, the `format` reward's default.
inline constexpr const char* kThinkFormatPattern = "^<think>(?!.*<think>)(.*?)</think>.*$";

/// The `format` reward's parameters: pattern, mode, dotall, multiline, ignore_case.
ParamTable format_reward_params();

/// Pattern match as a reward; never None.
class FormatReward : public RewardFunction {
 public:
  /// Reads validated format_reward_params() values; a bad pattern is a ConfigError naming `pattern`.
  explicit FormatReward(const Args& args);
  /// 1.0 if the completion matches, else 0.0, for every row.
  std::vector<std::optional<double>> score(const RewardInput& input) override;

 private:
  Regex regex_;
  MatchMode mode_;
};

}  // namespace trl::gfpo
