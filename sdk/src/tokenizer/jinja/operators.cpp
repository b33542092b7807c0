// Python's operators on Values (operators.h).
#include "tokenizer/jinja/operators.h"

#include <cmath>
#include <cstdlib>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/error.h"

namespace trl::tokenizer::jinja {
namespace {

// Guards `'x' * n` and list repetition against a template that would exhaust memory.
constexpr int64_t kMaxRepeatBytes = int64_t{64} << 20;

[[noreturn]] void unsupported(const std::string& op, const Value& a, const Value& b) {
  if (a.is_undefined()) throw TemplateRuntimeError({}, a.undefined_hint().empty() ? "undefined value used" : a.undefined_hint());
  if (b.is_undefined()) throw TemplateRuntimeError({}, b.undefined_hint().empty() ? "undefined value used" : b.undefined_hint());
  throw TemplateRuntimeError({}, "unsupported operand type(s) for " + op + ": '" + a.type_name() + "' and '" + b.type_name() + "'");
}

double py_fmod(double a, double b) {
  const double m = std::fmod(a, b);
  return (m != 0.0 && ((m < 0) != (b < 0))) ? m + b : m;
}

int64_t floor_div(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

Value repeat(const Value& sequence, int64_t times) {
  if (times <= 0) return sequence.is_string() ? Value::string("") : Value::list({});
  if (sequence.is_string()) {
    if (static_cast<double>(sequence.as_string().size()) * times > kMaxRepeatBytes) {
      throw TemplateRuntimeError({}, "string repetition result is too large");
    }
    std::string out;
    for (int64_t i = 0; i < times; ++i) out += sequence.as_string();
    return Value::string(out);
  }
  if (static_cast<double>(sequence.as_list().size()) * times > kMaxRepeatBytes / 16) {
    throw TemplateRuntimeError({}, "list repetition result is too large");
  }
  List out;
  for (int64_t i = 0; i < times; ++i) out.insert(out.end(), sequence.as_list().begin(), sequence.as_list().end());
  return Value::list(std::move(out));
}

bool contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::string:
      if (!item.is_string()) throw TemplateRuntimeError({}, "'in <string>' requires string as left operand, not " + item.type_name());
      return container.as_string().find(item.as_string()) != std::string::npos;
    case Value::Kind::dict: return item.is_string() && container.as_dict().find(item.as_string()) != nullptr;
    case Value::Kind::list:
    case Value::Kind::undefined:
      for (const Value& v : iterate(container)) {
        if (equals(v, item)) return true;
      }
      return false;
    default: throw TemplateRuntimeError({}, "argument of type '" + container.type_name() + "' is not iterable");
  }
}

}  // namespace

Value binary_operator(const std::string& op, const Value& a, const Value& b) {
  if (op == "==") return Value::boolean(equals(a, b));
  if (op == "!=") return Value::boolean(!equals(a, b));
  if (op == "~") return Value::string(a.str() + b.str());
  if (op == "in") return Value::boolean(contains(b, a));
  if (op == "not in") return Value::boolean(!contains(b, a));
  if (a.is_undefined() || b.is_undefined()) unsupported(op, a, b);
  if (op == "<") return Value::boolean(less_than(a, b));
  if (op == ">") return Value::boolean(less_than(b, a));
  if (op == "<=") return Value::boolean(!less_than(b, a));
  if (op == ">=") return Value::boolean(!less_than(a, b));
  const bool both_numbers = a.is_number() && b.is_number();
  const bool both_integral = a.is_integral() && b.is_integral();
  if (op == "+") {
    if (both_integral) return Value::integer(a.as_int() + b.as_int());
    if (both_numbers) return Value::floating(a.as_double() + b.as_double());
    if (a.is_string() && b.is_string()) return Value::string(a.as_string() + b.as_string());
    if (a.kind() == Value::Kind::list && b.kind() == Value::Kind::list) {
      List out = a.as_list();
      out.insert(out.end(), b.as_list().begin(), b.as_list().end());
      return Value::list(std::move(out));
    }
    if (a.is_string() || b.is_string()) {
      throw TemplateRuntimeError({}, a.is_string() ? "can only concatenate str (not \"" + b.type_name() + "\") to str"
                                                    : "unsupported operand type(s) for +: '" + a.type_name() + "' and 'str'");
    }
    unsupported(op, a, b);
  }
  if (op == "-") {
    if (both_integral) return Value::integer(a.as_int() - b.as_int());
    if (both_numbers) return Value::floating(a.as_double() - b.as_double());
    unsupported(op, a, b);
  }
  if (op == "*") {
    if (both_integral) return Value::integer(a.as_int() * b.as_int());
    if (both_numbers) return Value::floating(a.as_double() * b.as_double());
    if ((a.is_string() || a.kind() == Value::Kind::list) && b.is_integral()) return repeat(a, b.as_int());
    if ((b.is_string() || b.kind() == Value::Kind::list) && a.is_integral()) return repeat(b, a.as_int());
    unsupported(op, a, b);
  }
  if (op == "/" || op == "//" || op == "%") {
    if (!both_numbers) {
      if (op == "%" && a.is_string()) throw TemplateRuntimeError({}, "printf-style string formatting ('%') is not supported by trl-host's Jinja interpreter");
      unsupported(op, a, b);
    }
    if (b.as_double() == 0.0) throw TemplateRuntimeError({}, op == "/" ? "division by zero" : "integer division or modulo by zero");
    if (op == "/") return Value::floating(a.as_double() / b.as_double());
    if (both_integral) {
      if (op == "//") return Value::integer(floor_div(a.as_int(), b.as_int()));
      return Value::integer(a.as_int() - floor_div(a.as_int(), b.as_int()) * b.as_int());
    }
    if (op == "//") return Value::floating(std::floor(a.as_double() / b.as_double()));
    return Value::floating(py_fmod(a.as_double(), b.as_double()));
  }
  if (op == "**") {
    if (!both_numbers) unsupported(op, a, b);
    if (both_integral && b.as_int() >= 0) {
      if (b.as_int() > 62 && std::llabs(a.as_int()) > 1) throw TemplateRuntimeError({}, "integer power result is too large");
      int64_t result = 1;
      for (int64_t i = 0; i < b.as_int(); ++i) result *= a.as_int();
      return Value::integer(result);
    }
    return Value::floating(std::pow(a.as_double(), b.as_double()));
  }
  throw TemplateRuntimeError({}, "bug: unknown operator " + op);
}

Value unary_operator(const std::string& op, const Value& a) {
  if (!a.is_number()) {
    if (a.is_undefined()) throw TemplateRuntimeError({}, a.undefined_hint().empty() ? "undefined value used" : a.undefined_hint());
    throw TemplateRuntimeError({}, "bad operand type for unary " + op + ": '" + a.type_name() + "'");
  }
  if (a.is_integral()) return Value::integer(op == "-" ? -a.as_int() : a.as_int());
  return Value::floating(op == "-" ? -a.as_double() : a.as_double());
}

}  // namespace trl::tokenizer::jinja
