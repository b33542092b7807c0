// The Jinja lexer (lexer.h). It follows jinja2/lexer.py rule for rule: newlines normalised and one
// trailing newline dropped; text up to the next "{{", "{%" or "{#"; a "-" after the opener strips all
// whitespace before it, otherwise lstrip_blocks strips the spaces between a line start and "{%"/"{#";
// "-%}" strips all whitespace after it, "%}" and "#}" eat one newline (trim_blocks); a tag end only
// counts outside brackets.
#include "tokenizer/jinja/lexer.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "tokenizer/utf8.h"

namespace trl::tokenizer::jinja {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// jinja2 lexes with every newline as "\n" and, without keep_trailing_newline, drops one at the end.
std::string normalize_source(const std::string& source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

class Lexer {
 public:
  explicit Lexer(std::string source) : src_(std::move(source)) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < src_.size(); ++i) {
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
    }
  }

  std::vector<Token> run() {
    while (pos_ < src_.size()) lex_text_and_tag();
    Token end;
    end.type = Token::Type::end_of_input;
    end.pos = position(src_.size());
    tokens_.push_back(end);
    return std::move(tokens_);
  }

 private:
  SourcePos position(size_t offset) const {
    const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    const size_t line_start = *(it - 1);
    int column = 1;
    for (size_t i = line_start; i < offset && i < src_.size(); ++i) {
      if ((static_cast<unsigned char>(src_[i]) & 0xC0) != 0x80) ++column;
    }
    return {static_cast<int>(it - line_starts_.begin()), column};
  }

  [[noreturn]] void fail(size_t offset, const std::string& message) const {
    throw TemplateSyntaxError(position(offset), message);
  }

  void push(Token::Type type, std::string text, size_t offset) {
    Token t;
    t.type = type;
    t.text = std::move(text);
    t.pos = position(offset);
    tokens_.push_back(std::move(t));
  }

  // Text up to the next tag opener, then the tag itself.
  void lex_text_and_tag() {
    size_t open = pos_;
    while (true) {
      open = src_.find('{', open);
      if (open == std::string::npos || open + 1 >= src_.size()) {
        open = std::string::npos;
        break;
      }
      const char kind = src_[open + 1];
      if (kind == '{' || kind == '%' || kind == '#') break;
      ++open;
    }
    if (open == std::string::npos) {
      push(Token::Type::data, src_.substr(pos_), pos_);
      pos_ = src_.size();
      return;
    }
    const char kind = src_[open + 1];
    const char sign = open + 2 < src_.size() && (src_[open + 2] == '-' || src_[open + 2] == '+') ? src_[open + 2] : 0;
    std::string text = src_.substr(pos_, open - pos_);
    if (sign == '-') {
      size_t end = text.size();
      while (end > 0 && is_space(text[end - 1])) --end;
      text.resize(end);
    } else if (sign != '+' && kind != '{') {
      // lstrip_blocks: only whitespace between the line start and "{%" / "{#" goes.
      const size_t newline = text.rfind('\n');
      const size_t line_pos = newline == std::string::npos ? 0 : newline + 1;
      if ((line_pos > 0 || line_starting_) && line_pos < text.size() &&
          std::all_of(text.begin() + line_pos, text.end(), [](char c) { return is_space(c) && c != '\n'; })) {
        text.resize(line_pos);
      }
    }
    if (!text.empty()) push(Token::Type::data, text, pos_);
    const size_t tag_start = open;
    pos_ = open + 2 + (sign ? 1 : 0);
    line_starting_ = false;
    if (kind == '#') {
      lex_comment(tag_start);
    } else if (kind == '{') {
      push(Token::Type::variable_begin, "{{", tag_start);
      lex_tag(tag_start, /*block=*/false);
    } else {
      push(Token::Type::block_begin, "{%", tag_start);
      lex_tag(tag_start, /*block=*/true);
    }
  }

  void lex_comment(size_t tag_start) {
    const size_t content_start = pos_;
    const size_t close = src_.find("#}", pos_);
    if (close == std::string::npos) fail(tag_start, "Missing end of comment tag");
    pos_ = close + 2;
    if (close > content_start && src_[close - 1] == '-') {
      skip_all_whitespace();
    } else if (!(close > content_start && src_[close - 1] == '+')) {
      if (pos_ < src_.size() && src_[pos_] == '\n') ++pos_;  // trim_blocks
      line_starting_ = src_[pos_ - 1] == '\n';
    }
  }

  void skip_all_whitespace() {
    while (pos_ < src_.size() && is_space(src_[pos_])) ++pos_;
    line_starting_ = src_[pos_ - 1] == '\n';
  }

  // Tokens inside {{ }} or {% %}, up to and including the end marker.
  void lex_tag(size_t tag_start, bool block) {
    const std::string end_marker = block ? "%}" : "}}";
    std::vector<char> brackets;
    while (true) {
      if (pos_ >= src_.size()) fail(tag_start, block ? "unexpected end of template, expected end of block tag '%}'"
                                                     : "unexpected end of template, expected end of print statement '}}'");
      if (brackets.empty()) {
        if (src_.compare(pos_, 3, "-" + end_marker) == 0) {
          push(block ? Token::Type::block_end : Token::Type::variable_end, end_marker, pos_);
          pos_ += 3;
          skip_all_whitespace();
          return;
        }
        if (block && src_.compare(pos_, 3, "+%}") == 0) {
          push(Token::Type::block_end, end_marker, pos_);
          pos_ += 3;
          return;
        }
        if (src_.compare(pos_, 2, end_marker) == 0) {
          push(block ? Token::Type::block_end : Token::Type::variable_end, end_marker, pos_);
          pos_ += 2;
          if (block && pos_ < src_.size() && src_[pos_] == '\n') ++pos_;  // trim_blocks
          line_starting_ = src_[pos_ - 1] == '\n';
          return;
        }
      }
      const char c = src_[pos_];
      if (is_space(c)) {
        ++pos_;
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        lex_number();
      } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        const size_t start = pos_;
        while (pos_ < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[pos_])) || src_[pos_] == '_')) ++pos_;
        push(Token::Type::name, src_.substr(start, pos_ - start), start);
      } else if (c == '\'' || c == '"') {
        lex_string();
      } else {
        lex_operator(brackets);
      }
    }
  }

  void lex_number() {
    const size_t start = pos_;
    // 0x1F, 0o17, 0b101 (jinja2's integer_re), underscores allowed between digits.
    if (src_[pos_] == '0' && pos_ + 2 < src_.size() && std::strchr("xXoObB", src_[pos_ + 1])) {
      const char base_char = static_cast<char>(std::tolower(src_[pos_ + 1]));
      const int base = base_char == 'x' ? 16 : base_char == 'o' ? 8 : 2;
      size_t p = pos_ + 2;
      std::string digits;
      while (p < src_.size() && (std::isxdigit(static_cast<unsigned char>(src_[p])) || src_[p] == '_')) {
        if (src_[p] != '_') digits += src_[p];
        ++p;
      }
      char* end = nullptr;
      errno = 0;
      const long long value = digits.empty() ? 0 : std::strtoll(digits.c_str(), &end, base);
      if (!digits.empty() && *end == '\0' && errno == 0) {
        Token t;
        t.type = Token::Type::integer;
        t.pos = position(start);
        t.text = src_.substr(start, p - start);
        t.int_value = value;
        tokens_.push_back(std::move(t));
        pos_ = p;
        return;
      }
    }
    auto digits = [&] {
      while (pos_ < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[pos_])) || src_[pos_] == '_')) ++pos_;
    };
    digits();
    bool is_float = false;
    // jinja2's float_re: a fraction needs digits after the dot, and a number right after "." (x.0.1)
    // is never a float.
    const bool after_dot = start > 0 && src_[start - 1] == '.';
    if (!after_dot && pos_ + 1 < src_.size() && src_[pos_] == '.' && std::isdigit(static_cast<unsigned char>(src_[pos_ + 1]))) {
      ++pos_;
      digits();
      is_float = true;
    }
    if (!after_dot && pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
      size_t p = pos_ + 1;
      if (p < src_.size() && (src_[p] == '+' || src_[p] == '-')) ++p;
      if (p < src_.size() && std::isdigit(static_cast<unsigned char>(src_[p]))) {
        pos_ = p;
        digits();
        is_float = true;
      }
    }
    std::string text = src_.substr(start, pos_ - start);
    text.erase(std::remove(text.begin(), text.end(), '_'), text.end());
    Token t;
    t.pos = position(start);
    t.text = text;
    if (is_float) {
      t.type = Token::Type::floating;
      t.float_value = std::strtod(text.c_str(), nullptr);
    } else {
      t.type = Token::Type::integer;
      errno = 0;
      t.int_value = std::strtoll(text.c_str(), nullptr, 10);
      if (errno == ERANGE) fail(start, "integer literal out of range: " + text);
    }
    tokens_.push_back(std::move(t));
  }

  // Python's unicode-escape decoding of a literal's body (jinja2 decodes strings that way).
  void lex_string() {
    const size_t start = pos_;
    const char quote = src_[pos_++];
    std::string value;
    while (true) {
      if (pos_ >= src_.size()) fail(start, "unexpected end of string literal");
      const char c = src_[pos_];
      if (c == quote) {
        ++pos_;
        break;
      }
      if (c != '\\') {
        value += c;
        ++pos_;
        continue;
      }
      if (pos_ + 1 >= src_.size()) fail(start, "unexpected end of string literal");
      const char e = src_[pos_ + 1];
      pos_ += 2;
      switch (e) {
        case '\n': break;  // line continuation
        case '\\': value += '\\'; break;
        case '\'': value += '\''; break;
        case '"': value += '"'; break;
        case 'a': value += '\a'; break;
        case 'b': value += '\b'; break;
        case 'f': value += '\f'; break;
        case 'n': value += '\n'; break;
        case 'r': value += '\r'; break;
        case 't': value += '\t'; break;
        case 'v': value += '\v'; break;
        case 'x': value_hex(value, 2, start); break;
        case 'u': value_hex(value, 4, start); break;
        case 'U': value_hex(value, 8, start); break;
        default:
          if (e >= '0' && e <= '7') {
            unsigned code = e - '0';
            for (int k = 0; k < 2 && pos_ < src_.size() && src_[pos_] >= '0' && src_[pos_] <= '7'; ++k) code = code * 8 + (src_[pos_++] - '0');
            append_utf8(value, code);
          } else if (e == 'N') {
            fail(start, "\\N{...} escapes are not supported");
          } else {
            value += '\\';  // Python keeps unknown escapes as written
            value += e;
          }
      }
    }
    push(Token::Type::string, value, start);
  }

  void value_hex(std::string& value, int count, size_t start) {
    unsigned long code = 0;
    for (int k = 0; k < count; ++k) {
      if (pos_ >= src_.size() || !std::isxdigit(static_cast<unsigned char>(src_[pos_]))) fail(start, "truncated \\x/\\u escape in string literal");
      const char h = src_[pos_++];
      code = code * 16 + (std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (std::tolower(h) - 'a' + 10));
    }
    if (code > 0x10FFFF) fail(start, "illegal Unicode character in string literal");
    append_utf8(value, static_cast<char32_t>(code));
  }

  void lex_operator(std::vector<char>& brackets) {
    static const char* const kTwo[] = {"//", "**", "==", "!=", ">=", "<="};
    for (const char* op : kTwo) {
      if (src_.compare(pos_, 2, op) == 0) {
        push(Token::Type::op, op, pos_);
        pos_ += 2;
        return;
      }
    }
    const char c = src_[pos_];
    static const std::string kOne = "+-/*%~[](){}><=.:|,;";
    if (kOne.find(c) == std::string::npos) {
      fail(pos_, std::string("unexpected char '") + c + "'");
    }
    if (c == '(' || c == '[' || c == '{') {
      brackets.push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
    } else if (c == ')' || c == ']' || c == '}') {
      if (brackets.empty()) fail(pos_, std::string("unexpected '") + c + "'");
      if (brackets.back() != c) fail(pos_, std::string("unexpected '") + c + "', expected '" + brackets.back() + "'");
      brackets.pop_back();
    }
    push(Token::Type::op, std::string(1, c), pos_);
    ++pos_;
  }

  std::string src_;
  std::vector<size_t> line_starts_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  bool line_starting_ = true;  // the last token ended a line (jinja2's line_starting)
};

}  // namespace

std::vector<Token> tokenize(const std::string& source) { return Lexer(normalize_source(source)).run(); }

}  // namespace trl::tokenizer::jinja
