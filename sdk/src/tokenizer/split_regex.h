// A pre-tokenizer regex: Hugging Face writes these for Oniguruma (the Rust crate's engine); we translate
// the few constructs whose meaning differs and run them with PCRE2 (UTF + UCP, JIT when available).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace trl::tokenizer {

/// Rewrites an Oniguruma pattern into a PCRE2 pattern with the same meaning: \s and \S become
/// \p{White_Space} / \P{White_Space} (PCRE2's \s also matches U+180E), \d \D \w \W \h \H get Oniguruma's
/// Unicode meaning. Throws std::invalid_argument naming the construct for what cannot be translated
/// safely (\b, \B, \G, nested character classes, \W inside a class).
std::string oniguruma_to_pcre2(std::string_view pattern);

/// A compiled, immutable pattern; find_all may be called from several threads at once.
class SplitRegex {
 public:
  /// Compiles `pattern` (a PCRE2 pattern, or a literal when `literal`). Throws std::invalid_argument with
  /// PCRE2's message and offset.
  SplitRegex(const std::string& pattern, bool literal);
  ~SplitRegex();
  SplitRegex(const SplitRegex&) = delete;
  SplitRegex& operator=(const SplitRegex&) = delete;

  /// Byte ranges [begin, end) of the successive non-overlapping, non-empty matches in `text` (valid UTF-8).
  /// Throws std::runtime_error when PCRE2 gives up (a resource limit), never returns a partial answer.
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace trl::tokenizer
