// The syntax tree of a parsed template: expressions and statements, each with its source position.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/value.h"

namespace trl::tokenizer::jinja {

struct Expr;
/// An owned expression (null where optional and absent, e.g. a slice bound).
using ExprPtr = std::unique_ptr<Expr>;

/// One expression node. Which fields are used depends on the kind (listed per kind).
struct Expr {
  /// What the node computes.
  enum class Kind {
    literal,      ///< `value`
    name,         ///< variable `name`
    list,         ///< [children...]
    tuple,        ///< (children...), evaluated as a list
    dict,         ///< {children[0]: children[1], ...} (key/value pairs in order)
    attribute,    ///< children[0].name
    subscript,    ///< children[0][children[1]]
    slice,        ///< children[0][children[1]:children[2]:children[3]] (each bound may be null)
    call,         ///< children[0](children[1...], keywords)
    filter,       ///< children[0] | name(children[1...], keywords)
    test,         ///< children[0] is [not] name(children[1...]); `negated` for "is not"
    unary,        ///< name ("-", "+", "not") applied to children[0]
    binary,       ///< children[0] name children[1]; name is an operator, "and", "or", "in", "not in"
    conditional,  ///< children[0] if children[1] else children[2] (else may be null)
  };
  Kind kind = Kind::literal;                             ///< the node's kind
  SourcePos pos;                                         ///< where it starts
  Value value;                                           ///< literal
  std::string name;                                      ///< variable, attribute, filter, test or operator
  std::vector<ExprPtr> children;                         ///< operands, items or arguments
  std::vector<std::pair<std::string, ExprPtr>> keywords;  ///< keyword arguments of calls/filters
  bool negated = false;                                  ///< "is not" tests
};

struct Stmt;
/// A sequence of statements.
using Body = std::vector<std::unique_ptr<Stmt>>;

/// One statement node.
struct Stmt {
  /// What the statement does.
  enum class Kind {
    text,           ///< writes `text`
    output,         ///< writes str(expr)
    if_chain,       ///< first branch whose condition holds, else else_body
    for_loop,       ///< for targets in expr [if filter]: body, else else_body when nothing was iterated
    set,            ///< targets = expr (several targets unpack a sequence)
    set_attribute,  ///< targets[0].attribute = expr (namespace objects only)
    set_block,      ///< targets[0] = the text body renders to
    loop_break,     ///< {% break %}
    loop_continue,  ///< {% continue %}
    generation,     ///< {% generation %}body{% endgeneration %}: transformers' marker, renders its body
  };
  Kind kind = Kind::text;                          ///< the statement's kind
  SourcePos pos;                                   ///< where its tag starts
  std::string text;                                ///< text
  ExprPtr expr;                                    ///< output value, set value, or loop iterable
  std::vector<std::string> targets;                ///< loop or set target names
  std::string attribute;                           ///< set_attribute
  ExprPtr filter;                                  ///< loop filter (for x in y if filter), may be null
  std::vector<std::pair<ExprPtr, Body>> branches;  ///< if/elif conditions and bodies
  Body body;                                       ///< loop, set_block, generation body
  Body else_body;                                  ///< if or loop else branch
};

}  // namespace trl::tokenizer::jinja
