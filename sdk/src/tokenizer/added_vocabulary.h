// tokenizer.json "added_tokens": special and extra tokens found in the text before pre-tokenization,
// as Hugging Face's AddedVocabulary does it (leftmost-longest match, lstrip/rstrip/single_word).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace trl::tokenizer {

/// One entry of "added_tokens".
struct AddedToken {
  int64_t id = 0;              ///< its id
  std::string content;         ///< the text it matches
  bool special = false;        ///< dropped by decode(skip_special_tokens)
  bool normalized = false;     ///< matched in normalized text (else in the raw input)
  bool lstrip = false;         ///< the match also takes the whitespace on its left
  bool rstrip = false;         ///< the match also takes the whitespace on its right
  bool single_word = false;    ///< only matches when not inside a word
};

/// A stretch of the input: an added token (id >= 0) or plain text to pre-tokenize (id == -1).
struct Segment {
  size_t begin = 0;   ///< byte offset, inclusive
  size_t end = 0;     ///< byte offset, exclusive
  int64_t id = -1;    ///< the added token's id, or -1 for plain text
};

/// Finds one set of added tokens (either the raw-text ones or the normalized ones). Thread-safe.
class AddedTokenMatcher {
 public:
  /// `tokens` with their matching text (the content, or its normalized form for normalized tokens).
  AddedTokenMatcher(const std::vector<AddedToken>& tokens, const std::vector<std::string>& patterns);
  ~AddedTokenMatcher();
  AddedTokenMatcher(AddedTokenMatcher&&) noexcept;
  AddedTokenMatcher& operator=(AddedTokenMatcher&&) noexcept;

  /// Splits `text` (valid UTF-8) into segments covering it, in order; empty text gives no segment.
  std::vector<Segment> split(std::string_view text) const;

 private:
  struct Trie;
  std::unique_ptr<Trie> trie_;
  std::vector<AddedToken> tokens_;
};

}  // namespace trl::tokenizer
