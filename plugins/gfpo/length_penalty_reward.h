// length_penalty_reward.h: the built-in `length_penalty` reward, a non-positive reward that grows with the
// completion's length. Two documented shapes (L = length, L_max = max_length, L_c = soft_punish_cache):
//   linear:        -min(L, L_max) / L_max, from 0 (empty) down to -1 (at or past L_max);
//   soft_overlong: DAPO eq. 13 (TRL's get_soft_overlong_punishment): 0 while L <= L_max - L_c, then
//                  ((L_max - L_c) - L) / L_c down to -1 at L_max, and -1 beyond.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "trl/sdk/plugin.h"

namespace trl::gfpo {

/// The `length_penalty` reward's parameters: mode, max_length, soft_punish_cache, unit.
ParamTable length_penalty_reward_params();

/// A length penalty per completion; never None.
class LengthPenaltyReward : public RewardFunction {
 public:
  /// Reads validated length_penalty_reward_params() values; soft_punish_cache >= max_length is a ConfigError.
  explicit LengthPenaltyReward(const Args& args);
  /// The penalty of every completion.
  std::vector<std::optional<double>> score(const RewardInput& input) override;
  /// The penalty of one completion of `length` tokens (or characters).
  double penalty(int64_t length) const;

 private:
  bool soft_overlong_ = false;
  bool characters_ = false;
  int64_t max_length_ = 256;
  int64_t cache_ = 64;
};

/// Unicode code points in UTF-8 `text` (bytes that do not continue a sequence).
int64_t utf8_length(const std::string& text);

}  // namespace trl::gfpo
