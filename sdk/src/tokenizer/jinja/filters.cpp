// The filters (builtins.h), each as jinja2/filters.py defines it, plus transformers' tojson.
#include <cmath>
#include <cstdlib>
#include <set>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/parser.h"
#include "tokenizer/jinja/py_string.h"

namespace trl::tokenizer::jinja {
namespace {

[[noreturn]] void fail(const std::string& message) { throw TemplateRuntimeError({}, message); }

const std::set<std::string>& filter_names() {
  static const std::set<std::string> kNames = {
      "abs",   "capitalize", "count", "default", "d",        "first",   "float",  "int",   "items",
      "join",  "last",       "length", "list",   "lower",    "map",     "reject", "rejectattr",
      "replace", "reverse",  "select", "selectattr", "string", "title", "tojson", "trim",  "upper"};
  return kNames;
}

// Item attribute for selectattr/map: jinja2's make_attrgetter, which uses getitem (dots go deeper).
Value attribute_of(const Value& item, const std::string& path) {
  Value current = item;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    const bool numeric = !part.empty() && part.find_first_not_of("0123456789") == std::string::npos;
    current = get_item(current, numeric ? Value::integer(std::atoll(part.c_str())) : Value::string(part));
    if (dot == std::string::npos) return current;
    start = dot + 1;
  }
}

// select/reject/selectattr/rejectattr: keep the items whose (attribute's) test result equals `keep`.
Value select_items(const Value& input, const CallArgs& args, bool by_attribute, bool keep) {
  size_t next_arg = 0;
  std::string attribute;
  if (by_attribute) {
    const Value* a = argument(args, 0, nullptr);
    if (!a || !a->is_string()) fail("selectattr/rejectattr need an attribute name");
    attribute = a->as_string();
    next_arg = 1;
  }
  std::string test;
  CallArgs test_args;
  if (next_arg < args.positional.size()) {
    const Value& t = args.positional[next_arg];
    if (!t.is_string()) fail("the test name must be a string");
    test = t.as_string();
    if (!is_known_test(test)) fail("no test named '" + test + "'");
    test_args.positional.assign(args.positional.begin() + static_cast<std::ptrdiff_t>(next_arg) + 1, args.positional.end());
  }
  List out;
  for (const Value& item : iterate(input)) {
    const Value subject = by_attribute ? attribute_of(item, attribute) : item;
    const bool passed = test.empty() ? subject.truthy() : apply_test(test, subject, test_args);
    if (passed == keep) out.push_back(item);
  }
  return Value::list(std::move(out));
}

Value trim_filter(const Value& input, const CallArgs& args) {
  const Value* chars = argument(args, 0, "chars");
  std::optional<std::string> set;
  if (chars && !chars->is_none()) set = chars->str();
  return Value::string(py_strip(input.str(), set, true, true));
}

Value join_filter(const Value& input, const CallArgs& args) {
  const Value* separator = argument(args, 0, "d");
  const Value* attribute = argument(args, 1, "attribute");
  std::string out;
  bool first = true;
  for (const Value& item : iterate(input)) {
    out += first ? "" : (separator ? separator->str() : "");
    out += (attribute && !attribute->is_none() ? attribute_of(item, attribute->str()) : item).str();
    first = false;
  }
  return Value::string(out);
}

Value tojson_filter(const Value& input, const CallArgs& args) {
  // transformers: tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)
  const Value* ensure_ascii = argument(args, 0, "ensure_ascii");
  const Value* indent = argument(args, 1, "indent");
  const Value* separators = argument(args, 2, "separators");
  const Value* sort_keys = argument(args, 3, "sort_keys");
  int indent_spaces = -1;
  std::string indent_text;
  if (indent && !indent->is_none()) {
    if (indent->is_integral()) indent_spaces = static_cast<int>(std::max<int64_t>(0, indent->as_int()));
    else if (indent->is_string()) indent_text = indent->as_string();
    else fail("tojson: indent must be an integer, a string or None, got " + indent->type_name());
    if (indent_text.empty() && indent_spaces < 0) indent_spaces = 0;
  }
  const bool has_indent = indent && !indent->is_none();
  std::string item_separator = has_indent ? "," : ", ";
  std::string key_separator = ": ";
  if (separators && !separators->is_none()) {
    if (separators->kind() != Value::Kind::list || separators->as_list().size() != 2 ||
        !separators->as_list()[0].is_string() || !separators->as_list()[1].is_string()) {
      fail("tojson: separators must be a pair of strings");
    }
    item_separator = separators->as_list()[0].as_string();
    key_separator = separators->as_list()[1].as_string();
  }
  // indent="" is a string indent of nothing: newlines without spaces.
  if (has_indent && indent->is_string() && indent_text.empty()) indent_spaces = 0;
  return Value::string(to_json_text(input, ensure_ascii && ensure_ascii->truthy(), indent_spaces, indent_text,
                                    item_separator, key_separator, sort_keys && sort_keys->truthy()));
}

Value to_int(const Value& input, const CallArgs& args) {
  const Value* fallback = argument(args, 0, "default");
  const Value otherwise = fallback ? *fallback : Value::integer(0);
  if (input.is_integral()) return Value::integer(input.as_int());
  if (input.kind() == Value::Kind::floating) return std::isfinite(input.as_double()) ? Value::integer(static_cast<int64_t>(input.as_double())) : otherwise;
  if (input.is_string()) {
    const std::string text = py_strip(input.as_string(), std::nullopt, true, true);
    char* end = nullptr;
    const long long i = std::strtoll(text.c_str(), &end, 10);
    if (!text.empty() && end && *end == '\0') return Value::integer(i);
    const double f = std::strtod(text.c_str(), &end);
    if (!text.empty() && end && *end == '\0' && std::isfinite(f)) return Value::integer(static_cast<int64_t>(f));
  }
  return otherwise;
}

Value to_float(const Value& input, const CallArgs& args) {
  const Value* fallback = argument(args, 0, "default");
  const Value otherwise = fallback ? *fallback : Value::floating(0.0);
  if (input.is_number()) return Value::floating(input.as_double());
  if (input.is_string()) {
    const std::string text = py_strip(input.as_string(), std::nullopt, true, true);
    char* end = nullptr;
    const double f = std::strtod(text.c_str(), &end);
    if (!text.empty() && end && *end == '\0') return Value::floating(f);
  }
  return otherwise;
}

}  // namespace

bool is_known_filter(const std::string& name) { return filter_names().count(name) > 0; }

Value apply_filter(const std::string& name, const Value& input, const CallArgs& args) {
  if (name == "trim") return trim_filter(input, args);
  if (name == "length" || name == "count") return Value::integer(length_of(input));
  if (name == "tojson") return tojson_filter(input, args);
  if (name == "string") return Value::string(input.str());
  if (name == "upper") return Value::string(py_upper(input.str()));
  if (name == "lower") return Value::string(py_lower(input.str()));
  if (name == "title") return Value::string(py_title(input.str()));
  if (name == "capitalize") return Value::string(py_capitalize(input.str()));
  if (name == "items") {
    if (input.is_undefined()) return Value::list({});
    if (input.kind() != Value::Kind::dict) fail("Can only get item pairs from a mapping.");
    List pairs;
    for (const auto& [k, v] : input.as_dict().items) pairs.push_back(Value::tuple({Value::string(k), v}));
    return Value::list(std::move(pairs));
  }
  if (name == "list") return Value::list(iterate(input));
  if (name == "join") return join_filter(input, args);
  if (name == "default" || name == "d") {
    const Value* fallback = argument(args, 0, "default_value");
    const Value* boolean = argument(args, 1, "boolean");
    const bool use_fallback = input.is_undefined() || (boolean && boolean->truthy() && !input.truthy());
    return use_fallback ? (fallback ? *fallback : Value::string("")) : input;
  }
  if (name == "first" || name == "last") {
    const std::vector<Value> items = iterate(input);
    if (items.empty()) return Value::undefined(name == "first" ? "No first item, sequence was empty." : "No last item, sequence was empty.");
    return name == "first" ? items.front() : items.back();
  }
  if (name == "reverse") {
    if (input.is_string()) {
      std::u32string cps = to_code_points(input.as_string());
      return Value::string(from_code_points(std::u32string(cps.rbegin(), cps.rend())));
    }
    std::vector<Value> items = iterate(input);
    return Value::list(List(items.rbegin(), items.rend()));
  }
  if (name == "replace") {
    const Value* old_text = argument(args, 0, "old");
    const Value* new_text = argument(args, 1, "new");
    const Value* count = argument(args, 2, "count");
    if (!old_text || !new_text) fail("replace() needs the old and the new text");
    return Value::string(py_replace(input.str(), old_text->str(), new_text->str(),
                                    count && count->is_integral() ? count->as_int() : -1));
  }
  if (name == "select" || name == "reject") return select_items(input, args, false, name == "select");
  if (name == "selectattr" || name == "rejectattr") return select_items(input, args, true, name == "selectattr");
  if (name == "map") {
    const Value* attribute = argument(args, 99, "attribute");
    if (!attribute || !args.positional.empty()) fail("map is supported with attribute= only");
    const Value* fallback = argument(args, 99, "default");
    List out;
    for (const Value& item : iterate(input)) {
      Value v = attribute_of(item, attribute->str());
      out.push_back(v.is_undefined() && fallback ? *fallback : v);
    }
    return Value::list(std::move(out));
  }
  if (name == "abs") {
    if (input.is_integral()) return Value::integer(std::llabs(input.as_int()));
    if (input.kind() == Value::Kind::floating) return Value::floating(std::fabs(input.as_double()));
    fail("bad operand type for abs(): '" + input.type_name() + "'");
  }
  if (name == "int") return to_int(input, args);
  if (name == "float") return to_float(input, args);
  throw TemplateRuntimeError({}, "bug: filter '" + name + "' is declared but not implemented");
}

}  // namespace trl::tokenizer::jinja
