// accuracy_reward.h: the built-in `accuracy` reward: 1.0 when the completion's final answer matches the
// dataset's reference answer, 0.0 when it does not, None when the row has no reference.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pcre2_regex.h"
#include "trl/sdk/plugin.h"

namespace trl::gfpo {

/// How the final answer is found in a completion.
enum class AnswerExtraction {
  last_number,  ///< the last number in the text (extract_last_number)
  boxed,        ///< the contents of the last \boxed{...} (extract_boxed)
  regex         ///< a capture of the last match of `pattern` (the group named "answer", else group 1, else 0)
};

/// The `accuracy` reward's parameters: column, extract, pattern, tolerance, ignore_case, extract_reference.
ParamTable accuracy_reward_params();

/// Exact-match accuracy of an extracted answer against a dataset column (numeric with a tolerance when both
/// sides parse as numbers, else trimmed text equality).
class AccuracyReward : public RewardFunction {
 public:
  /// Reads validated accuracy_reward_params() values; a bad pattern is a ConfigError naming `pattern`.
  explicit AccuracyReward(const Args& args);
  /// 1.0 / 0.0 per completion; nullopt when the row's column is missing, null or not a string / number
  /// (or yields no answer with extract_reference). A completion with no extractable answer scores 0.0.
  std::vector<std::optional<double>> score(const RewardInput& input) override;

  /// The answer this reward reads from `text`, or nullopt.
  std::optional<std::string> extract(const std::string& text) const;

 private:
  std::string column_;
  AnswerExtraction extraction_ = AnswerExtraction::last_number;
  std::optional<Regex> pattern_;
  int group_ = 0;
  double tolerance_ = 1e-6;
  bool ignore_case_ = false;
  bool extract_reference_ = false;
};

}  // namespace trl::gfpo
