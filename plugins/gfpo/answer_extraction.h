// answer_extraction.h: pulling the final answer out of a completion and comparing it with a reference,
// for the `accuracy` reward. Plain text rules, documented here; no computer algebra (TRL's accuracy_reward
// uses math_verify, which this does not try to reproduce).
#pragma once

#include <optional>
#include <string>

namespace trl::gfpo {

/// The last number in `text`: optional '-' (not when it directly follows a digit, so "3-5" gives "5"),
/// digits with optional thousands separators ("1,234"), optional decimals (".5" counts). The text as it
/// appears, commas included; nullopt if there is none.
std::optional<std::string> extract_last_number(const std::string& text);

/// The contents of the last \boxed{...} in `text`, braces balanced, trimmed; nullopt if there is none
/// or its braces never close.
std::optional<std::string> extract_boxed(const std::string& text);

/// `text` as a number when, after trimming whitespace, dropping one leading '$' and one trailing '.', it is
/// a decimal ("-1,234.5", "1e-3", ".5") or an integer fraction ("3/4"); nullopt otherwise.
std::optional<double> parse_number(const std::string& text);

/// Whether `predicted` answers `reference`: if both parse as numbers, |p - r| <= tolerance * max(1, |r|);
/// otherwise the whitespace-trimmed texts are equal (ASCII case folded when ignore_case).
bool answers_match(const std::string& predicted, const std::string& reference, double tolerance, bool ignore_case);

/// `text` without leading and trailing ASCII whitespace.
std::string trim(const std::string& text);

}  // namespace trl::gfpo
