// The `accuracy` reward: extract, compare, 1.0 / 0.0 / None.
#include "accuracy_reward.h"

#include <sstream>

#include "answer_extraction.h"
#include "trl/sdk/error.h"

namespace trl::gfpo {

ParamTable accuracy_reward_params() {
  ParamTable t;
  t.add("column", ParamType::string, "answer", "dataset column holding the reference answer");
  t.add("extract", ParamType::string, "last_number",
        "how the completion's answer is found: the last number, the last \\boxed{...}, or a regex capture")
      .one_of({"last_number", "boxed", "regex"});
  t.add("pattern", ParamType::string, nullptr,
        "PCRE2 pattern for extract=\"regex\": the last match's group named \"answer\", else group 1, else the match");
  t.add("tolerance", ParamType::number, 1e-6,
        "numeric answers match when |predicted - reference| <= tolerance * max(1, |reference|)")
      .at_least(0);
  t.add("ignore_case", ParamType::boolean, false, "compare non-numeric answers case-insensitively (ASCII)");
  t.add("extract_reference", ParamType::boolean, false,
        "apply the same extraction to the reference text too (e.g. GSM8K's \"... #### 42\")");
  return t;
}

AccuracyReward::AccuracyReward(const Args& args)
    : column_(args.string("column")),
      tolerance_(args.number("tolerance")),
      ignore_case_(args.boolean("ignore_case")),
      extract_reference_(args.boolean("extract_reference")) {
  const std::string extract = args.string("extract");
  extraction_ = extract == "boxed" ? AnswerExtraction::boxed
                : extract == "regex" ? AnswerExtraction::regex
                                     : AnswerExtraction::last_number;
  const std::optional<std::string> pattern = args.optional_string("pattern");
  if (extraction_ == AnswerExtraction::regex) {
    if (!pattern) args.fail("pattern", "is required when extract is \"regex\"");
    pattern_.emplace(*pattern, RegexFlags{}, args.where(), "pattern");
    const int named = pattern_->group_number("answer");
    group_ = named >= 0 ? named : (pattern_->capture_count() >= 1 ? 1 : 0);
  } else if (pattern) {
    args.fail("pattern", "is only used with extract=\"regex\" (extract is \"" + extract + "\")");
  }
}

std::optional<std::string> AccuracyReward::extract(const std::string& text) const {
  switch (extraction_) {
    case AnswerExtraction::last_number: return extract_last_number(text);
    case AnswerExtraction::boxed: return extract_boxed(text);
    case AnswerExtraction::regex: return pattern_->last_capture(text, group_);
  }
  return std::nullopt;
}

std::vector<std::optional<double>> AccuracyReward::score(const RewardInput& input) {
  std::vector<std::optional<double>> out(input.completions.size());
  for (size_t i = 0; i < input.completions.size(); ++i) {
    if (i >= input.columns.size() || !input.columns[i].is_object()) continue;
    const auto it = input.columns[i].find(column_);
    if (it == input.columns[i].end()) continue;
    std::optional<std::string> reference;
    if (it->is_string()) {
      reference = it->get<std::string>();
    } else if (it->is_number()) {
      // JSON numbers compare numerically; dump() keeps integers exact and doubles round-trippable.
      reference = it->dump();
    } else {
      continue;  // null, bool, list, object: not a reference answer (TRL: unparseable gold -> None)
    }
    if (extract_reference_) {
      reference = extract(*reference);
      if (!reference) continue;
    }
    const std::optional<std::string> predicted = extract(input.completions[i]);
    out[i] = predicted && answers_match(*predicted, *reference, tolerance_, ignore_case_) ? 1.0 : 0.0;
  }
  return out;
}

}  // namespace trl::gfpo
