// A cursor over the lexer's tokens with the helpers both parsers use: look ahead, consume, expect,
// and fail with the position of the offending token.
#pragma once

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/lexer.h"

namespace trl::tokenizer::jinja {

/// The tokens of one template and the position of the parser in them.
class TokenStream {
 public:
  /// Takes the tokens (ending with end_of_input).
  explicit TokenStream(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

 protected:
  using Type = Token::Type;

  /// The token `ahead` places after the current one (end_of_input past the end).
  const Token& peek(size_t ahead = 0) const { return tokens_[std::min(index_ + ahead, tokens_.size() - 1)]; }
  /// Consumes and returns the current token.
  const Token& next() { return tokens_[std::min(index_++, tokens_.size() - 1)]; }
  /// Whether the current token is operator `op` / the name `name`.
  bool at_op(const char* op) const { return peek().type == Type::op && peek().text == op; }
  bool at_name(const char* name) const { return peek().type == Type::name && peek().text == name; }

  /// Throws TemplateSyntaxError at `pos`.
  [[noreturn]] static void fail(SourcePos pos, const std::string& message) { throw TemplateSyntaxError(pos, message); }

  /// How a token is named in messages ("end of statement block", "'x'").
  static std::string describe(const Token& t) {
    switch (t.type) {
      case Type::end_of_input: return "end of template";
      case Type::block_end: return "end of statement block";
      case Type::variable_end: return "end of print statement";
      case Type::data: return "template data";
      case Type::string: return "string";
      case Type::integer:
      case Type::floating: return "number";
      default: return "'" + t.text + "'";
    }
  }

  /// Consumes the expected token or fails naming what was found.
  void expect_op(const char* op) {
    if (!at_op(op)) fail(peek().pos, std::string("expected '") + op + "', got " + describe(peek()));
    next();
  }
  std::string expect_name() {
    if (peek().type != Type::name) fail(peek().pos, "expected a name, got " + describe(peek()));
    return next().text;
  }
  void expect_block_end() {
    if (peek().type != Type::block_end) fail(peek().pos, "expected end of statement block, got " + describe(peek()));
    next();
  }

 private:
  std::vector<Token> tokens_;
  size_t index_ = 0;
};

}  // namespace trl::tokenizer::jinja
