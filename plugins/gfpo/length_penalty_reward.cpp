// The `length_penalty` reward: linear or DAPO soft-overlong.
#include "length_penalty_reward.h"

#include <algorithm>

#include "trl/sdk/error.h"

namespace trl::gfpo {

ParamTable length_penalty_reward_params() {
  ParamTable t;
  t.add("mode", ParamType::string, "linear",
        "\"linear\": -min(L, max_length) / max_length; \"soft_overlong\": DAPO's overlong punishment")
      .one_of({"linear", "soft_overlong"});
  t.add("max_length", ParamType::integer, 256, "L_max, usually the run's max_completion_length").at_least(1);
  t.add("soft_punish_cache", ParamType::integer, 64,
        "soft_overlong: the last L_c tokens before max_length where the penalty ramps from 0 to -1")
      .at_least(0);
  t.add("unit", ParamType::string, "tokens", "measure L in completion tokens or in characters (code points)")
      .one_of({"tokens", "characters"});
  return t;
}

LengthPenaltyReward::LengthPenaltyReward(const Args& args)
    : soft_overlong_(args.string("mode") == "soft_overlong"),
      characters_(args.string("unit") == "characters"),
      max_length_(args.integer("max_length")),
      cache_(args.integer("soft_punish_cache")) {
  if (soft_overlong_ && cache_ >= max_length_)
    args.fail("soft_punish_cache", "must be less than max_length (" + std::to_string(max_length_) + "), got " +
                                       std::to_string(cache_));
}

double LengthPenaltyReward::penalty(int64_t length) const {
  if (!soft_overlong_)
    return -static_cast<double>(std::min(length, max_length_)) / static_cast<double>(max_length_);
  const int64_t free_length = max_length_ - cache_;
  if (length <= free_length) return 0.0;
  if (length <= max_length_) return static_cast<double>(free_length - length) / static_cast<double>(cache_);
  return -1.0;
}

std::vector<std::optional<double>> LengthPenaltyReward::score(const RewardInput& input) {
  TRL_INTERNAL_ASSERT(characters_ || input.completion_ids.size() == input.completions.size(),
                      "RewardInput.completion_ids must hold one entry per completion");
  std::vector<std::optional<double>> out;
  out.reserve(input.completions.size());
  for (size_t i = 0; i < input.completions.size(); ++i) {
    const int64_t length = characters_ ? utf8_length(input.completions[i])
                                       : static_cast<int64_t>(input.completion_ids[i].size());
    out.emplace_back(penalty(length));
  }
  return out;
}

int64_t utf8_length(const std::string& text) {
  return static_cast<int64_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

}  // namespace trl::gfpo
