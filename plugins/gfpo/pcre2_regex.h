// pcre2_regex.h: a compiled PCRE2 pattern (UTF-8, tolerant of invalid UTF-8 in the text) for the
// rewards' pattern matching and answer extraction.
//
// Syntax is PCRE2's, which accepts Python `re` patterns as TRL's rewards write them (lookarounds, lazy
// quantifiers, named groups as (?P<name>...)). Match modes mirror Python: search (anywhere), match
// (anchored at the start, re.match), full (the whole text, re.fullmatch).
#pragma once

#include <memory>
#include <optional>
#include <string>

namespace trl::gfpo {

/// Where a pattern must match.
enum class MatchMode {
  search,  ///< anywhere in the text (re.search)
  match,   ///< starting at the beginning (re.match)
  full     ///< the whole text (re.fullmatch)
};

/// Parses "search", "match", "full"; nullopt otherwise.
std::optional<MatchMode> parse_match_mode(const std::string& text);

/// Compile-time flags of a pattern.
struct RegexFlags {
  bool dotall = false;       ///< `.` also matches newlines (re.DOTALL)
  bool multiline = false;    ///< `^` and `$` match at line breaks (re.MULTILINE)
  bool ignore_case = false;  ///< case-insensitive (re.IGNORECASE)
};

/// A compiled pattern. Immutable after construction; matching allocates its own match data.
class Regex {
 public:
  /// Compiles `pattern`. An invalid pattern is a trl::ConfigError at `where`, key `key`, naming the
  /// offset and PCRE2's message.
  Regex(const std::string& pattern, RegexFlags flags, const std::string& where, const std::string& key);
  ~Regex();
  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  /// Whether the pattern matches `text` in `mode`.
  bool matches(const std::string& text, MatchMode mode) const;

  /// The text of capture group `group` (0 = the whole match) of the last non-overlapping match in `text`;
  /// nullopt if there is no match or that group did not take part in it.
  std::optional<std::string> last_capture(const std::string& text, int group) const;

  /// The number of a named group, or -1 if the pattern has no group of that name.
  int group_number(const std::string& name) const;
  /// How many capture groups the pattern has.
  int capture_count() const;
  /// The source pattern.
  const std::string& pattern() const { return pattern_; }

 private:
  struct Code;
  std::string pattern_;
  std::unique_ptr<Code> code_;
};

}  // namespace trl::gfpo
