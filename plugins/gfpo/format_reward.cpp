// The `format` reward: a PCRE2 match per completion.
#include "format_reward.h"

namespace trl::gfpo {

ParamTable format_reward_params() {
  ParamTable t;
  t.add("pattern", ParamType::string, kThinkFormatPattern,
        "PCRE2 pattern the completion must match (default: TRL's think_format_reward)");
  t.add("mode", ParamType::string, "match",
        "where it must match: \"match\" at the start (re.match), \"search\" anywhere, \"full\" the whole text")
      .one_of({"match", "search", "full"});
  t.add("dotall", ParamType::boolean, true, "`.` also matches newlines (re.DOTALL)");
  t.add("multiline", ParamType::boolean, true, "`^` and `$` also match at line breaks (re.MULTILINE)");
  t.add("ignore_case", ParamType::boolean, false, "case-insensitive matching");
  return t;
}

namespace {
RegexFlags flags_of(const Args& args) {
  RegexFlags flags;
  flags.dotall = args.boolean("dotall");
  flags.multiline = args.boolean("multiline");
  flags.ignore_case = args.boolean("ignore_case");
  return flags;
}
}  // namespace

FormatReward::FormatReward(const Args& args)
    : regex_(args.string("pattern"), flags_of(args), args.where(), "pattern"),
      mode_(parse_match_mode(args.string("mode")).value_or(MatchMode::match)) {}

std::vector<std::optional<double>> FormatReward::score(const RewardInput& input) {
  std::vector<std::optional<double>> out;
  out.reserve(input.completions.size());
  for (const std::string& completion : input.completions) out.emplace_back(regex_.matches(completion, mode_) ? 1.0 : 0.0);
  return out;
}

}  // namespace trl::gfpo
