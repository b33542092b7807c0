// The tests of `x is name` (builtins.h), as jinja2/tests.py defines them on Python objects.
#include <set>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/parser.h"
#include "tokenizer/jinja/py_string.h"

namespace trl::tokenizer::jinja {
namespace {

const std::set<std::string>& test_names() {
  static const std::set<std::string> kNames = {
      "defined", "undefined", "none",    "boolean", "false", "true", "integer", "float",       "number",
      "string",  "mapping",   "iterable", "sequence", "callable", "equalto", "eq", "==", "ne", "!=", "lt", "<",
      "gt",      ">",         "le",      "<=",      "ge",    ">=",   "in",      "odd",         "even",
      "divisibleby", "lower", "upper",   "sameas"};
  return kNames;
}

const Value& operand(const std::string& test, const CallArgs& args) {
  const Value* v = argument(args, 0, nullptr);
  if (!v) throw TemplateRuntimeError({}, "test '" + test + "' needs an argument");
  return *v;
}

}  // namespace

bool is_known_test(const std::string& name) { return test_names().count(name) > 0; }

bool apply_test(const std::string& name, const Value& input, const CallArgs& args) {
  using K = Value::Kind;
  const K kind = input.kind();
  if (name == "defined") return kind != K::undefined;
  if (name == "undefined") return kind == K::undefined;
  if (name == "none") return kind == K::none;
  if (name == "boolean") return kind == K::boolean;
  if (name == "false") return kind == K::boolean && !input.as_bool();
  if (name == "true") return kind == K::boolean && input.as_bool();
  if (name == "integer") return kind == K::integer;  // jinja2 excludes True/False
  if (name == "float") return kind == K::floating;
  if (name == "number") return input.is_number();  // bool is a Number in Python
  if (name == "string") return kind == K::string;
  if (name == "mapping") return kind == K::dict;
  // Undefined iterates as empty and has a length, so jinja2 calls it iterable and a sequence.
  if (name == "iterable") return kind == K::undefined || kind == K::string || kind == K::list || kind == K::dict;
  if (name == "sequence") return kind == K::undefined || kind == K::string || kind == K::list || kind == K::dict;
  if (name == "callable") return kind == K::callable;
  if (name == "equalto" || name == "eq" || name == "==") return equals(input, operand(name, args));
  if (name == "ne" || name == "!=") return !equals(input, operand(name, args));
  if (name == "lt" || name == "<") return less_than(input, operand(name, args));
  if (name == "gt" || name == ">") return less_than(operand(name, args), input);
  if (name == "le" || name == "<=") return !less_than(operand(name, args), input);
  if (name == "ge" || name == ">=") return !less_than(input, operand(name, args));
  if (name == "in") {
    const Value& container = operand(name, args);
    for (const Value& item : iterate(container)) {
      if (equals(item, input)) return true;
    }
    if (container.is_string() && input.is_string()) return container.as_string().find(input.as_string()) != std::string::npos;
    return false;
  }
  if (name == "odd" || name == "even" || name == "divisibleby") {
    if (!input.is_integral()) throw TemplateRuntimeError({}, "test '" + name + "' needs an integer, got " + input.type_name());
    const int64_t d = name == "divisibleby" ? operand(name, args).as_int() : 2;
    if (d == 0) throw TemplateRuntimeError({}, "integer division or modulo by zero");
    const bool divisible = input.as_int() % d == 0;
    return name == "odd" ? !divisible : divisible;
  }
  if (name == "lower" || name == "upper") {
    // Python's islower()/isupper(): some cased character, and none of the other case.
    const std::string text = input.str();
    const std::string lowered = py_lower(text);
    const std::string uppered = py_upper(text);
    const bool has_cased = lowered != uppered;
    return has_cased && (name == "lower" ? text == lowered : text == uppered);
  }
  if (name == "sameas") {
    const Value& other = operand(name, args);
    if (kind != other.kind()) return false;
    if (kind == K::none || kind == K::undefined) return true;
    if (kind == K::boolean) return input.as_bool() == other.as_bool();
    return equals(input, other) && (kind == K::integer || kind == K::string);
  }
  throw TemplateRuntimeError({}, "bug: test '" + name + "' is declared but not implemented");
}

}  // namespace trl::tokenizer::jinja
