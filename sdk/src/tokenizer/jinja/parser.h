// The Jinja parser: tokens to a syntax tree, with jinja2's grammar and operator precedence.
#pragma once

#include <string>

#include "tokenizer/jinja/ast.h"

namespace trl::tokenizer::jinja {

/// Parses a whole template. Throws TemplateSyntaxError (with the line and column) for bad syntax and for
/// constructs this interpreter does not implement: macros, call/filter/with/include/import/extends/
/// block/raw tags, unknown filters and tests (jinja2 also refuses unknown filters and tests when it
/// compiles a template).
Body parse_template(const std::string& source);

/// Whether `name` is a filter the interpreter implements.
bool is_known_filter(const std::string& name);
/// Whether `name` is a test the interpreter implements.
bool is_known_test(const std::string& name);

}  // namespace trl::tokenizer::jinja
