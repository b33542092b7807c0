// A Jinja2 template, parsed once and rendered many times: the subset of Jinja2 that the chat templates
// of Qwen2.5, Qwen3, Llama-3/3.1/3.2 and Mistral use, with jinja2's semantics as transformers configures
// it (trim_blocks, lstrip_blocks, loop controls, the default Undefined).
//
// Supported: {{ }}, {% %}, {# #} and "-"/"+" whitespace control; if/elif/else; for with else, a filter
// (`for x in y if c`), tuple targets, loop.index/index0/revindex/revindex0/first/last/length/previtem/
// nextitem/cycle, break and continue; set (names, tuples, namespace attributes, set blocks); generation
// blocks (rendered as their body); literals, lists, dicts, tuples; and/or/not, comparisons, in/not in,
// + - * / // % ** ~, conditional expressions, attributes, indexing and slicing; the filters and tests of
// builtins.h; str/dict methods; globals namespace(), range(), dict() and whatever the caller passes
// (raise_exception, strftime_now). Macros and the other tags are refused at parse time.
#pragma once

#include <memory>
#include <string>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/value.h"

namespace trl::tokenizer::jinja {

/// A parsed template; immutable, so one may be rendered from several threads at once.
class Template {
 public:
  /// Parses `source`. Throws TemplateSyntaxError (line:column) for bad syntax or unsupported constructs.
  explicit Template(const std::string& source);

  /// Renders with `variables` as the template's context. Throws TemplateRuntimeError where jinja2 would
  /// raise (an undefined value used, a type error), TemplateRaisedError for raise_exception(...).
  std::string render(const Dict& variables) const;

 private:
  std::shared_ptr<const Body> body_;
};

}  // namespace trl::tokenizer::jinja
