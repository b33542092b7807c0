// The Jinja lexer: template source to tokens, with jinja2's whitespace rules as transformers configures
// them (trim_blocks, lstrip_blocks, keep_trailing_newline=False) and the "-"/"+" tag modifiers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/jinja/error.h"

namespace trl::tokenizer::jinja {

/// One token.
struct Token {
  /// What the token is.
  enum class Type {
    data,            ///< template text outside tags (after whitespace control)
    variable_begin,  ///< {{
    variable_end,    ///< }}
    block_begin,     ///< {%
    block_end,       ///< %}
    name,            ///< identifier or keyword
    string,          ///< string literal; text is the unescaped value
    integer,         ///< integer literal; int_value
    floating,        ///< float literal; float_value
    op,              ///< operator or punctuation; text is its spelling
    end_of_input,    ///< after the last token
  };
  Type type = Type::end_of_input;  ///< the kind
  std::string text;                ///< data, name, string value or operator
  int64_t int_value = 0;           ///< for integer
  double float_value = 0.0;        ///< for floating
  SourcePos pos;                   ///< where the token starts in the source
};

/// Tokens of `source`, ending with end_of_input. Comments are dropped. Throws TemplateSyntaxError for
/// an unterminated tag, comment or string, an unexpected character or unbalanced brackets.
std::vector<Token> tokenize(const std::string& source);

}  // namespace trl::tokenizer::jinja
