// The arithmetic, concatenation, membership and comparison operators, with Python's semantics.
#pragma once

#include <string>

#include "tokenizer/jinja/value.h"

namespace trl::tokenizer::jinja {

/// a OP b for OP in + - * / // % ** ~ == != < > <= >= in, "not in". Throws TemplateRuntimeError where
/// Python raises (unsupported operand types, division by zero) and when an operand is undefined (except
/// for ~, ==, != and in, which jinja2's Undefined allows).
Value binary_operator(const std::string& op, const Value& a, const Value& b);
/// -a and +a.
Value unary_operator(const std::string& op, const Value& a);

}  // namespace trl::tokenizer::jinja
