// Added-token matching (see added_vocabulary.h).
#include "tokenizer/added_vocabulary.h"

#include <map>

#include <unicode/uchar.h>

#include "tokenizer/utf8.h"

namespace trl::tokenizer {
namespace {

bool is_white_space(char32_t c) { return u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_WHITE_SPACE); }

// Rust regex's Unicode \w, which AddedVocabulary's single_word check uses: Alphabetic, marks, decimal
// digits, connector punctuation and Join_Control.
bool is_word_char(char32_t c) {
  const auto cp = static_cast<UChar32>(c);
  const int8_t type = u_charType(cp);
  return u_hasBinaryProperty(cp, UCHAR_ALPHABETIC) || u_hasBinaryProperty(cp, UCHAR_JOIN_CONTROL) ||
         type == U_NON_SPACING_MARK || type == U_ENCLOSING_MARK || type == U_COMBINING_SPACING_MARK ||
         type == U_DECIMAL_DIGIT_NUMBER || type == U_CONNECTOR_PUNCTUATION;
}

// The code point that ends just before byte `pos` of well-formed `text`.
char32_t code_point_before(std::string_view text, size_t pos) {
  size_t start = pos - 1;
  while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
  return next_code_point(text, start);
}

}  // namespace

// A byte trie over the patterns: the longest pattern starting at each position is found in one walk.
struct AddedTokenMatcher::Trie {
  struct Node {
    std::map<unsigned char, int32_t> next;
    int32_t token = -1;  // index into tokens_ of the pattern ending here
  };
  std::vector<Node> nodes{Node{}};

  void insert(std::string_view pattern, int32_t token) {
    int32_t at = 0;
    for (const char ch : pattern) {
      const auto byte = static_cast<unsigned char>(ch);
      auto it = nodes[static_cast<size_t>(at)].next.find(byte);
      if (it == nodes[static_cast<size_t>(at)].next.end()) {
        nodes.push_back(Node{});
        it = nodes[static_cast<size_t>(at)].next.emplace(byte, static_cast<int32_t>(nodes.size() - 1)).first;
      }
      at = it->second;
    }
    // Two tokens with the same text: the first one listed wins, as in a Hugging Face vocabulary.
    if (nodes[static_cast<size_t>(at)].token < 0) nodes[static_cast<size_t>(at)].token = token;
  }

  // Longest pattern starting at `pos`: (token index, length), or (-1, 0).
  std::pair<int32_t, size_t> longest_at(std::string_view text, size_t pos) const {
    int32_t at = 0;
    std::pair<int32_t, size_t> best{-1, 0};
    for (size_t i = pos; i < text.size(); ++i) {
      const auto& next = nodes[static_cast<size_t>(at)].next;
      const auto it = next.find(static_cast<unsigned char>(text[i]));
      if (it == next.end()) break;
      at = it->second;
      if (nodes[static_cast<size_t>(at)].token >= 0) best = {nodes[static_cast<size_t>(at)].token, i + 1 - pos};
    }
    return best;
  }
};

AddedTokenMatcher::AddedTokenMatcher(const std::vector<AddedToken>& tokens, const std::vector<std::string>& patterns)
    : trie_(std::make_unique<Trie>()), tokens_(tokens) {
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (!patterns[i].empty()) trie_->insert(patterns[i], static_cast<int32_t>(i));
  }
}

AddedTokenMatcher::~AddedTokenMatcher() = default;
AddedTokenMatcher::AddedTokenMatcher(AddedTokenMatcher&&) noexcept = default;
AddedTokenMatcher& AddedTokenMatcher::operator=(AddedTokenMatcher&&) noexcept = default;

std::vector<Segment> AddedTokenMatcher::split(std::string_view text) const {
  std::vector<Segment> segments;
  size_t done = 0;  // end of the last added-token segment
  size_t pos = 0;
  while (pos < text.size()) {
    // Leftmost-longest: at each position the longest token; a rejected (single_word) match moves on by one
    // character, as the aho-corasick iterator of Hugging Face moves past a match it skips.
    const auto [index, length] = trie_->nodes.size() > 1 ? trie_->longest_at(text, pos) : std::pair<int32_t, size_t>{-1, 0};
    if (index < 0) {
      pos += utf8_length(static_cast<unsigned char>(text[pos]));
      continue;
    }
    const AddedToken& token = tokens_[static_cast<size_t>(index)];
    size_t start = pos, stop = pos + length;
    if (token.single_word) {
      const bool space_before = start == 0 || !is_word_char(code_point_before(text, start));
      size_t after = stop;
      const bool space_after = stop == text.size() || !is_word_char(next_code_point(text, after));
      if (!space_before || !space_after) {
        pos = stop;  // the automaton resumes after the whole skipped match
        continue;
      }
    }
    if (token.lstrip) {
      while (start > done && is_white_space(code_point_before(text, start))) {
        size_t s = start - 1;
        while (s > 0 && (static_cast<unsigned char>(text[s]) & 0xC0) == 0x80) --s;
        start = s;
      }
    }
    if (token.rstrip) {
      while (stop < text.size()) {
        size_t next = stop;
        if (!is_white_space(next_code_point(text, next))) break;
        stop = next;
      }
    }
    if (start > done) segments.push_back(Segment{done, start, -1});
    segments.push_back(Segment{start, stop, token.id});
    done = stop;
    pos = stop;
  }
  if (done < text.size()) segments.push_back(Segment{done, text.size(), -1});
  return segments;
}

}  // namespace trl::tokenizer
