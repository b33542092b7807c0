// Values of the Jinja interpreter, with Python's semantics: what jinja2 does to a Python object is what
// we do to the matching Value (truthiness, str(), ==, ordering). Lists, dicts and namespaces are shared
// by reference as in Python; dicts keep insertion order, as Python dicts and json.load do.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace trl::tokenizer::jinja {

class Value;

/// A Python list.
using List = std::vector<Value>;

/// A Python dict with string keys, in insertion order.
struct Dict {
  std::vector<std::pair<std::string, Value>> items;  ///< key/value pairs in insertion order

  /// The value of `key`, or nullptr.
  const Value* find(const std::string& key) const;
  /// Sets `key` (appended when new, replaced in place otherwise).
  void set(const std::string& key, Value value);
};

/// Positional and keyword arguments of a call.
struct CallArgs {
  std::vector<Value> positional;                         ///< in order
  std::vector<std::pair<std::string, Value>> keywords;  ///< name=value, in order
};

/// A function the template can call: a global (raise_exception, namespace, ...), a bound method
/// ("abc".startswith) or loop.cycle.
struct Callable {
  std::string name;                                ///< for messages ("str.startswith", "namespace")
  std::function<Value(const CallArgs&)> function;  ///< throws TemplateRuntimeError on bad arguments
};

/// One value: undefined, None, bool, int, float, str (UTF-8), list, dict, namespace or callable.
class Value {
 public:
  /// The kinds of value; `undefined` is jinja2's default Undefined (empty, falsy, errors on use).
  enum class Kind { undefined, none, boolean, integer, floating, string, list, dict, namespace_object, callable };

  /// Undefined, with `hint` saying why (e.g. "'x' is undefined") for the error raised if it is used.
  Value() = default;
  static Value undefined(std::string hint);
  static Value none();
  static Value boolean(bool b);
  static Value integer(int64_t i);
  static Value floating(double f);
  static Value string(std::string s);
  static Value list(List items);
  /// A tuple: a list that prints as (a, b) and never equals a list.
  static Value tuple(List items);
  static Value dict(Dict d);
  /// A jinja2 namespace(): a mutable attribute bag shared by reference.
  static Value namespace_object(Dict attributes);
  static Value callable(std::string name, std::function<Value(const CallArgs&)> function);
  /// Converts JSON: objects keep their key order, numbers keep integer vs float.
  static Value from_json(const nlohmann::ordered_json& json);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::undefined; }
  bool is_none() const { return kind_ == Kind::none; }
  bool is_string() const { return kind_ == Kind::string; }
  /// bool, int or float (Python's bool is an int).
  bool is_number() const { return kind_ == Kind::boolean || kind_ == Kind::integer || kind_ == Kind::floating; }
  /// bool or int.
  bool is_integral() const { return kind_ == Kind::boolean || kind_ == Kind::integer; }
  /// Whether a list value is a tuple.
  bool is_tuple() const { return b_ && kind_ == Kind::list; }

  bool as_bool() const { return b_; }
  int64_t as_int() const { return kind_ == Kind::boolean ? (b_ ? 1 : 0) : i_; }
  double as_double() const { return kind_ == Kind::floating ? f_ : static_cast<double>(as_int()); }
  const std::string& as_string() const { return *s_; }
  const List& as_list() const { return *list_; }
  const Dict& as_dict() const { return *dict_; }
  /// The namespace's attributes (mutable: `set ns.x = ...` writes through every copy).
  Dict& namespace_attributes() const { return *dict_; }
  const Callable& as_callable() const { return *callable_; }
  /// Why this value is undefined.
  const std::string& undefined_hint() const;

  /// Python's bool(value); undefined is false.
  bool truthy() const;
  /// Python's str(value), as {{ value }} prints it; undefined prints as "".
  std::string str() const;
  /// Python's repr(value) (strings quoted), as str() of a list shows its items.
  std::string repr() const;
  /// jinja2's type name in messages ("str", "list object", ...).
  std::string type_name() const;
  /// JSON for tojson; throws TemplateRuntimeError for values JSON cannot hold (undefined, callables).
  nlohmann::ordered_json to_json() const;

 private:
  Kind kind_ = Kind::undefined;
  bool b_ = false;
  int64_t i_ = 0;
  double f_ = 0.0;
  std::shared_ptr<const std::string> s_;  // string, or the undefined hint (may be null)
  std::shared_ptr<List> list_;
  std::shared_ptr<Dict> dict_;  // dict or namespace
  std::shared_ptr<Callable> callable_;
};

/// Python's ==.
bool equals(const Value& a, const Value& b);
/// Python's a < b for numbers, strings and lists; throws TemplateRuntimeError otherwise.
bool less_than(const Value& a, const Value& b);
/// Python's repr() of a float ("1.0", "0.1", "1e-05", "inf").
std::string python_float_repr(double f);

}  // namespace trl::tokenizer::jinja
