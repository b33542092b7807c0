// The expression half of the Jinja parser: jinja2's grammar and operator precedence, lowest first:
// conditional (a if b else c), or, and, not, comparisons and in/not in, + -, ~, * / // %, **, unary - +,
// then postfix (.attr, [i], [a:b:c], calls) bound tighter than filters (|f) and tests (is t), so
// `- x | abs` is `(-x) | abs` and `a + b | trim` is `a + (b | trim)`.
#pragma once

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/token_stream.h"

namespace trl::tokenizer::jinja {

/// Parses expressions from a token stream; the statement parser (parser.cpp) builds on it.
class ExpressionParser : public TokenStream {
 public:
  using TokenStream::TokenStream;

  /// An expression, or several separated by commas (a tuple without parentheses); `with_conditional`
  /// allows `a if b else c` at the top (not in `for` iterables and `if` conditions, as jinja2).
  ExprPtr parse_tuple(bool with_conditional);
  /// One expression, conditional allowed.
  ExprPtr parse_conditional();

 protected:
  ExprPtr parse_or();
  ExprPtr parse_and();
  ExprPtr parse_not();
  ExprPtr parse_compare();
  ExprPtr parse_math1();
  ExprPtr parse_concat();
  ExprPtr parse_math2();
  ExprPtr parse_pow();
  ExprPtr parse_unary(bool with_filter);
  ExprPtr parse_primary();
  ExprPtr parse_parenthesized();
  ExprPtr parse_list();
  ExprPtr parse_dict();
  ExprPtr parse_postfix(ExprPtr node);
  ExprPtr parse_subscript(ExprPtr target);
  void parse_arguments(Expr& node);
  ExprPtr parse_call(ExprPtr callee);
  ExprPtr parse_filter_expr(ExprPtr node);
};

}  // namespace trl::tokenizer::jinja
