// Final-answer extraction and comparison for the accuracy reward.
#include "answer_extraction.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

#include "pcre2_regex.h"

namespace trl::gfpo {

namespace {

const Regex& last_number_regex() {
  // A '-' right after a digit is a range or a subtraction, not a sign; a '.' before digits starts ".5".
  static const Regex regex("(?<![0-9.])-?(?:[0-9]+(?:,[0-9]{3})*(?:\\.[0-9]+)?|\\.[0-9]+)", RegexFlags{},
                           "last_number", "pattern");
  return regex;
}

const Regex& decimal_regex() {
  static const Regex regex("[-+]?(?:[0-9]+(?:,[0-9]{3})*(?:\\.[0-9]*)?|\\.[0-9]+)(?:[eE][-+]?[0-9]+)?",
                           RegexFlags{}, "decimal", "pattern");
  return regex;
}

const Regex& fraction_regex() {
  static const Regex regex("([-+]?[0-9]+)\\s*/\\s*([0-9]+)", RegexFlags{}, "fraction", "pattern");
  return regex;
}

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

}  // namespace

std::string trim(const std::string& text) {
  size_t begin = 0, end = text.size();
  while (begin < end && is_space(text[begin])) ++begin;
  while (end > begin && is_space(text[end - 1])) --end;
  return text.substr(begin, end - begin);
}

std::optional<std::string> extract_last_number(const std::string& text) {
  return last_number_regex().last_capture(text, 0);
}

std::optional<std::string> extract_boxed(const std::string& text) {
  static const std::string kOpen = "\\boxed{";
  size_t at = text.rfind(kOpen);
  while (at != std::string::npos) {
    int depth = 1;
    for (size_t i = at + kOpen.size(); i < text.size(); ++i) {
      if (text[i] == '{') ++depth;
      if (text[i] == '}' && --depth == 0) return trim(text.substr(at + kOpen.size(), i - at - kOpen.size()));
    }
    // Unbalanced: an earlier \boxed{ may still be complete.
    at = at == 0 ? std::string::npos : text.rfind(kOpen, at - 1);
  }
  return std::nullopt;
}

std::optional<double> parse_number(const std::string& text) {
  std::string t = trim(text);
  if (!t.empty() && t.front() == '$') t = trim(t.substr(1));
  if (!t.empty() && t.back() == '.') t.pop_back();
  if (t.empty()) return std::nullopt;
  if (decimal_regex().matches(t, MatchMode::full)) {
    t.erase(std::remove(t.begin(), t.end(), ','), t.end());
    const double value = std::strtod(t.c_str(), nullptr);
    return std::isfinite(value) ? std::optional<double>(value) : std::nullopt;
  }
  if (fraction_regex().matches(t, MatchMode::full)) {
    const double numerator = std::strtod(fraction_regex().last_capture(t, 1)->c_str(), nullptr);
    const double denominator = std::strtod(fraction_regex().last_capture(t, 2)->c_str(), nullptr);
    if (denominator == 0.0) return std::nullopt;
    return numerator / denominator;
  }
  return std::nullopt;
}

bool answers_match(const std::string& predicted, const std::string& reference, double tolerance, bool ignore_case) {
  const std::optional<double> p = parse_number(predicted);
  const std::optional<double> r = parse_number(reference);
  if (p && r) return std::fabs(*p - *r) <= tolerance * std::max(1.0, std::fabs(*r));
  std::string a = trim(predicted), b = trim(reference);
  if (ignore_case) {
    auto lower = [](std::string s) {
      std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
      return s;
    };
    a = lower(a);
    b = lower(b);
  }
  return a == b;
}

}  // namespace trl::gfpo
