// Attribute and item access, iteration and len() (builtins.h), and the str/dict methods templates call.
// jinja2's rules: `a.b` tries Python's getattr (methods) and then a["b"]; `a[k]` tries the item and then,
// for a string key, the attribute; whatever is missing is undefined. Only an undefined object is an error.
#include <algorithm>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/py_string.h"

namespace trl::tokenizer::jinja {

const Value* argument(const CallArgs& args, size_t index, const char* name) {
  if (index < args.positional.size()) return &args.positional[index];
  for (const auto& [key, value] : args.keywords) {
    if (name && key == name) return &value;
  }
  return nullptr;
}

namespace {

[[noreturn]] void fail(const std::string& message) { throw TemplateRuntimeError({}, message); }

std::string string_argument(const CallArgs& args, size_t index, const char* name, const std::string& method) {
  const Value* v = argument(args, index, name);
  if (!v || !v->is_string()) fail(method + "() argument must be str, got " + (v ? v->type_name() : "nothing"));
  return v->as_string();
}

std::optional<std::string> optional_chars(const CallArgs& args, const std::string& method) {
  const Value* v = argument(args, 0, "chars");
  if (!v || v->is_none()) return std::nullopt;
  if (!v->is_string()) fail(method + " arg must be None or str");
  return v->as_string();
}

bool prefix_match(const std::string& text, const Value& candidate, bool at_end, const std::string& method) {
  auto one = [&](const Value& v) {
    if (!v.is_string()) fail(method + " first arg must be str or a tuple of str, not " + v.type_name());
    const std::string& p = v.as_string();
    if (p.size() > text.size()) return false;
    return at_end ? text.compare(text.size() - p.size(), p.size(), p) == 0 : text.compare(0, p.size(), p) == 0;
  };
  if (candidate.kind() == Value::Kind::list) {
    return std::any_of(candidate.as_list().begin(), candidate.as_list().end(), one);
  }
  return one(candidate);
}

Value string_method(const std::string& text, const std::string& name) {
  const std::string method = "str." + name;
  if (name == "startswith" || name == "endswith") {
    return Value::callable(method, [text, name, method](const CallArgs& args) {
      const Value* p = argument(args, 0, nullptr);
      if (!p) fail(method + "() takes at least 1 argument (0 given)");
      return Value::boolean(prefix_match(text, *p, name == "endswith", method));
    });
  }
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    return Value::callable(method, [text, name, method](const CallArgs& args) {
      return Value::string(py_strip(text, optional_chars(args, method), name != "rstrip", name != "lstrip"));
    });
  }
  if (name == "split") {
    return Value::callable(method, [text, method](const CallArgs& args) {
      const Value* sep = argument(args, 0, "sep");
      const Value* maxsplit = argument(args, 1, "maxsplit");
      if (sep && !sep->is_none() && !sep->is_string()) fail("must be str or None, not " + sep->type_name());
      if (maxsplit && !maxsplit->is_integral()) fail("'" + maxsplit->type_name() + "' object cannot be interpreted as an integer");
      const std::optional<std::string> separator = sep && sep->is_string() ? std::optional<std::string>(sep->as_string()) : std::nullopt;
      List parts;
      for (auto& part : py_split(text, separator, maxsplit ? maxsplit->as_int() : -1)) parts.push_back(Value::string(std::move(part)));
      return Value::list(std::move(parts));
    });
  }
  if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
    return Value::callable(method, [text, name](const CallArgs&) {
      if (name == "upper") return Value::string(py_upper(text));
      if (name == "lower") return Value::string(py_lower(text));
      if (name == "title") return Value::string(py_title(text));
      return Value::string(py_capitalize(text));
    });
  }
  if (name == "replace") {
    return Value::callable(method, [text, method](const CallArgs& args) {
      const Value* count = argument(args, 2, "count");
      return Value::string(py_replace(text, string_argument(args, 0, nullptr, method), string_argument(args, 1, nullptr, method),
                                      count && count->is_integral() ? count->as_int() : -1));
    });
  }
  if (name == "find") {
    return Value::callable(method, [text, method](const CallArgs& args) {
      const size_t found = text.find(string_argument(args, 0, nullptr, method));
      return Value::integer(found == std::string::npos ? -1 : py_len(text.substr(0, found)));
    });
  }
  if (name == "join") {
    return Value::callable(method, [text](const CallArgs& args) {
      const Value* items = argument(args, 0, nullptr);
      if (!items) fail("str.join() takes exactly one argument (0 given)");
      std::string out;
      bool first = true;
      for (const Value& item : iterate(*items)) {
        if (!item.is_string()) fail("sequence item: expected str instance, " + item.type_name() + " found");
        out += (first ? "" : text) + item.as_string();
        first = false;
      }
      return Value::string(out);
    });
  }
  return Value::undefined("'str object' has no attribute '" + name + "'");
}

bool is_dict_method_name(const std::string& name) {
  static const char* const kNames[] = {"items", "keys", "values", "get", "copy", "pop", "popitem", "update",
                                       "clear", "setdefault", "fromkeys"};
  return std::find_if(std::begin(kNames), std::end(kNames), [&](const char* n) { return name == n; }) != std::end(kNames);
}

Value dict_method(const Value& object, const std::string& name) {
  const std::string method = "dict." + name;
  if (name == "items" || name == "keys" || name == "values") {
    return Value::callable(method, [object, name](const CallArgs&) {
      List out;
      for (const auto& [k, v] : object.as_dict().items) {
        if (name == "items") out.push_back(Value::tuple({Value::string(k), v}));
        else if (name == "keys") out.push_back(Value::string(k));
        else out.push_back(v);
      }
      return Value::list(std::move(out));
    });
  }
  if (name == "get") {
    return Value::callable(method, [object](const CallArgs& args) {
      const Value* key = argument(args, 0, nullptr);
      if (!key) fail("get expected at least 1 argument, got 0");
      const Value* fallback = argument(args, 1, nullptr);
      if (key->is_string()) {
        if (const Value* found = object.as_dict().find(key->as_string())) return *found;
      }
      return fallback ? *fallback : Value::none();
    });
  }
  // The sandbox refuses the mutating methods (ImmutableSandboxedEnvironment).
  return Value::callable(method, [method](const CallArgs&) -> Value {
    fail("access to " + method + " is not allowed: the template runs in an immutable sandbox");
  });
}

}  // namespace

Value get_attribute(const Value& object, const std::string& name) {
  switch (object.kind()) {
    case Value::Kind::undefined: fail(object.undefined_hint().empty() ? "undefined value has no attribute '" + name + "'" : object.undefined_hint());
    case Value::Kind::string: return string_method(object.as_string(), name);
    case Value::Kind::dict: {
      if (is_dict_method_name(name)) return dict_method(object, name);
      if (const Value* found = object.as_dict().find(name)) return *found;
      return Value::undefined("'dict object' has no attribute '" + name + "'");
    }
    case Value::Kind::namespace_object: {
      if (const Value* found = object.namespace_attributes().find(name)) return *found;
      return Value::undefined("'Namespace object' has no attribute '" + name + "'");
    }
    case Value::Kind::list:
      if (name == "append" || name == "extend" || name == "insert" || name == "pop" || name == "remove" ||
          name == "clear" || name == "sort" || name == "reverse") {
        return Value::callable("list." + name, [name](const CallArgs&) -> Value {
          fail("access to list." + name + " is not allowed: the template runs in an immutable sandbox");
        });
      }
      return Value::undefined("'list object' has no attribute '" + name + "'");
    default: return Value::undefined("'" + object.type_name() + " object' has no attribute '" + name + "'");
  }
}

Value get_item(const Value& object, const Value& key) {
  switch (object.kind()) {
    case Value::Kind::undefined: fail(object.undefined_hint().empty() ? "undefined value has no item" : object.undefined_hint());
    case Value::Kind::list: {
      if (!key.is_integral()) break;
      const List& items = object.as_list();
      int64_t i = key.as_int();
      if (i < 0) i += static_cast<int64_t>(items.size());
      if (i < 0 || i >= static_cast<int64_t>(items.size())) return Value::undefined("list object has no element " + key.repr());
      return items[i];
    }
    case Value::Kind::string: {
      if (!key.is_integral()) break;
      const std::u32string cps = to_code_points(object.as_string());
      int64_t i = key.as_int();
      if (i < 0) i += static_cast<int64_t>(cps.size());
      if (i < 0 || i >= static_cast<int64_t>(cps.size())) return Value::undefined("str object has no element " + key.repr());
      return Value::string(from_code_points(cps.substr(i, 1)));
    }
    case Value::Kind::dict:
      if (key.is_string()) {
        if (const Value* found = object.as_dict().find(key.as_string())) return *found;
      }
      break;
    default: break;
  }
  if (key.is_string()) {
    Value attribute = get_attribute(object, key.as_string());
    if (!attribute.is_undefined()) return attribute;
  }
  return Value::undefined("'" + object.type_name() + " object' has no attribute " + key.repr());
}

std::vector<Value> iterate(const Value& value) {
  switch (value.kind()) {
    case Value::Kind::undefined: return {};
    case Value::Kind::list: return value.as_list();
    case Value::Kind::dict: {
      std::vector<Value> keys;
      for (const auto& item : value.as_dict().items) keys.push_back(Value::string(item.first));
      return keys;
    }
    case Value::Kind::string: {
      std::vector<Value> chars;
      for (char32_t c : to_code_points(value.as_string())) chars.push_back(Value::string(from_code_points(std::u32string(1, c))));
      return chars;
    }
    default: fail("'" + value.type_name() + "' object is not iterable");
  }
}

int64_t length_of(const Value& value) {
  switch (value.kind()) {
    case Value::Kind::undefined: return 0;
    case Value::Kind::string: return py_len(value.as_string());
    case Value::Kind::list: return static_cast<int64_t>(value.as_list().size());
    case Value::Kind::dict: return static_cast<int64_t>(value.as_dict().items.size());
    default: fail("object of type '" + value.type_name() + "' has no len()");
  }
}

}  // namespace trl::tokenizer::jinja
