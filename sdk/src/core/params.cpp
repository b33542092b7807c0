// Declared parameters: validation with messages that name the key, typed getters, docs tables.
#include "trl/sdk/params.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "trl/sdk/error.h"

namespace trl {

std::string to_string(ParamType type) {
  switch (type) {
    case ParamType::boolean: return "boolean";
    case ParamType::integer: return "integer";
    case ParamType::number: return "number";
    case ParamType::string: return "string";
    case ParamType::string_list: return "list of strings";
    case ParamType::number_list: return "list of numbers";
    case ParamType::object: return "any JSON";
  }
  return "?";
}

// ---- ParamSpec -------------------------------------------------------------------------------------

ParamSpec& ParamSpec::one_of(std::vector<std::string> allowed) {
  choices = std::move(allowed);
  return *this;
}
ParamSpec& ParamSpec::range(double lo, double hi, bool lo_inclusive, bool hi_inclusive) {
  min = lo;
  max = hi;
  min_inclusive = lo_inclusive;
  max_inclusive = hi_inclusive;
  return *this;
}
ParamSpec& ParamSpec::greater_than(double lo) {
  min = lo;
  min_inclusive = false;
  return *this;
}
ParamSpec& ParamSpec::at_least(double lo) {
  min = lo;
  min_inclusive = true;
  return *this;
}
ParamSpec& ParamSpec::allow_null() {
  nullable = true;
  return *this;
}
ParamSpec& ParamSpec::make_required() {
  required = true;
  return *this;
}
ParamSpec& ParamSpec::accept_single() {
  single_as_list = true;
  return *this;
}

namespace {

std::string format_number(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

}  // namespace

std::string ParamSpec::constraint_text() const {
  std::vector<std::string> parts;
  if (min && max) {
    parts.push_back(std::string("in ") + (min_inclusive ? "[" : "(") + format_number(*min) + ", " +
                    format_number(*max) + (max_inclusive ? "]" : ")"));
  } else if (min) {
    parts.push_back((min_inclusive ? ">= " : "> ") + format_number(*min));
  } else if (max) {
    parts.push_back((max_inclusive ? "<= " : "< ") + format_number(*max));
  }
  if (!choices.empty()) parts.push_back("one of: " + join(choices, ", "));
  if (nullable) parts.push_back("or null");
  return join(parts, "; ");
}

// ---- did_you_mean ---------------------------------------------------------------------------------

namespace {
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}
}  // namespace

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::string::npos;
  for (const std::string& c : candidates) {
    size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  // A likely typo: at most a third of the word's letters differ (and at least one edit is allowed).
  size_t budget = std::max<size_t>(2, word.size() / 3);
  return best_distance <= budget ? best : "";
}

// ---- validation -----------------------------------------------------------------------------------

namespace {

std::string type_name_of(const nlohmann::json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number_integer()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "a list";
  return "an object";
}

std::string article(ParamType type) {
  switch (type) {
    case ParamType::integer: return "an integer";
    case ParamType::object: return "a JSON value";
    default: return "a " + to_string(type);
  }
}

void check_number(const ParamSpec& spec, double v, const std::string& where, const std::string& key,
                  const nlohmann::json& shown) {
  bool ok = std::isfinite(v);
  if (ok && spec.min) ok = spec.min_inclusive ? v >= *spec.min : v > *spec.min;
  if (ok && spec.max) ok = spec.max_inclusive ? v <= *spec.max : v < *spec.max;
  if (!ok) {
    std::string want = spec.constraint_text();
    throw ConfigError(where, key, "expected a number " + (want.empty() ? "that is finite" : want) + ", got " +
                                      shown.dump());
  }
}

void check_choice(const ParamSpec& spec, const std::string& v, const std::string& where, const std::string& key) {
  if (spec.choices.empty() || std::find(spec.choices.begin(), spec.choices.end(), v) != spec.choices.end()) return;
  std::string hint = did_you_mean(v, spec.choices);
  throw ConfigError(where, key,
                    "expected one of: " + join(spec.choices, ", ") + "; got \"" + v + "\"" +
                        (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)"));
}

// Returns the normalised value (single scalars wrapped into lists, integral floats for integers refused).
nlohmann::json check_value(const ParamSpec& spec, const nlohmann::json& v, const std::string& where) {
  const std::string& key = spec.name;
  if (v.is_null()) {
    if (spec.nullable || spec.default_value.is_null()) return v;
    throw ConfigError(where, key, "expected " + article(spec.type) + ", got null");
  }
  auto wrong = [&]() -> ConfigError {
    return ConfigError(where, key, "expected " + article(spec.type) + ", got " + type_name_of(v) + " " + v.dump());
  };
  switch (spec.type) {
    case ParamType::boolean:
      if (!v.is_boolean()) throw wrong();
      return v;
    case ParamType::integer:
      if (!v.is_number_integer()) throw wrong();
      check_number(spec, v.get<double>(), where, key, v);
      return v;
    case ParamType::number:
      if (!v.is_number()) throw wrong();
      check_number(spec, v.get<double>(), where, key, v);
      return v;
    case ParamType::string:
      if (!v.is_string()) throw wrong();
      check_choice(spec, v.get<std::string>(), where, key);
      return v;
    case ParamType::string_list: {
      nlohmann::json list = v;
      if (v.is_string() && spec.single_as_list) list = nlohmann::json::array({v});
      if (!list.is_array()) throw wrong();
      for (size_t i = 0; i < list.size(); ++i) {
        if (!list[i].is_string())
          throw ConfigError(where, key + "[" + std::to_string(i) + "]", "expected a string, got " + list[i].dump());
        check_choice(spec, list[i].get<std::string>(), where, key + "[" + std::to_string(i) + "]");
      }
      return list;
    }
    case ParamType::number_list: {
      nlohmann::json list = v;
      if (v.is_number() && spec.single_as_list) list = nlohmann::json::array({v});
      if (!list.is_array()) throw wrong();
      for (size_t i = 0; i < list.size(); ++i) {
        if (!list[i].is_number())
          throw ConfigError(where, key + "[" + std::to_string(i) + "]", "expected a number, got " + list[i].dump());
        check_number(spec, list[i].get<double>(), where, key + "[" + std::to_string(i) + "]", list[i]);
      }
      return list;
    }
    case ParamType::object:
      return v;
  }
  return v;
}

}  // namespace

ParamSpec& ParamTable::add(const std::string& name, ParamType type, nlohmann::json default_value, std::string help) {
  TRL_INTERNAL_ASSERT(find(name) == nullptr, "parameter '" + name + "' declared twice");
  ParamSpec spec;
  spec.name = name;
  spec.type = type;
  spec.nullable = default_value.is_null();
  spec.default_value = std::move(default_value);
  spec.help = std::move(help);
  specs_.push_back(std::move(spec));
  return specs_.back();
}

void ParamTable::merge(const ParamTable& other) {
  for (const ParamSpec& spec : other.specs_) {
    TRL_INTERNAL_ASSERT(find(spec.name) == nullptr, "parameter '" + spec.name + "' declared twice");
    specs_.push_back(spec);
  }
}

void ParamTable::set_default(const std::string& name, nlohmann::json value) {
  auto it = std::find_if(specs_.begin(), specs_.end(), [&](const ParamSpec& s) { return s.name == name; });
  TRL_INTERNAL_ASSERT(it != specs_.end(), "set_default of undeclared parameter '" + name + "'");
  it->default_value = std::move(value);
}

const ParamSpec* ParamTable::find(const std::string& name) const {
  for (const ParamSpec& spec : specs_)
    if (spec.name == name) return &spec;
  return nullptr;
}

Args ParamTable::validate(const nlohmann::json& config, const std::string& where) const {
  if (!config.is_null() && !config.is_object())
    throw ConfigError(where, "", "expected an object of parameters, got " + type_name_of(config));
  if (config.is_object()) {
    std::vector<std::string> names;
    for (const ParamSpec& spec : specs_) names.push_back(spec.name);
    for (auto it = config.begin(); it != config.end(); ++it) {
      if (find(it.key()) != nullptr) continue;
      std::string hint = did_you_mean(it.key(), names);
      throw ConfigError(where, it.key(),
                        "unknown parameter" + (hint.empty() ? std::string() : " (did you mean \"" + hint + "\"?)"));
    }
  }
  return validate_known(config, where);
}

Args ParamTable::validate_known(const nlohmann::json& config, const std::string& where) const {
  nlohmann::json out = nlohmann::json::object();
  for (const ParamSpec& spec : specs_) {
    bool present = config.is_object() && config.contains(spec.name);
    if (!present) {
      if (spec.required) throw ConfigError(where, spec.name, "is required (" + spec.help + ")");
      out[spec.name] = spec.default_value;
      continue;
    }
    out[spec.name] = check_value(spec, config.at(spec.name), where);
  }
  return Args(std::move(out), where);
}

std::string ParamTable::markdown() const {
  std::string out = "| name | type | default | allowed | description |\n|---|---|---|---|---|\n";
  for (const ParamSpec& s : specs_) {
    std::string def = s.required ? "(required)" : s.default_value.dump();
    out += "| `" + s.name + "` | " + to_string(s.type) + " | `" + def + "` | " + s.constraint_text() + " | " + s.help +
           " |\n";
  }
  return out;
}

nlohmann::json ParamTable::to_json() const {
  nlohmann::json out = nlohmann::json::array();
  for (const ParamSpec& s : specs_) {
    out.push_back({{"name", s.name},
                   {"type", to_string(s.type)},
                   {"default", s.default_value},
                   {"required", s.required},
                   {"constraint", s.constraint_text()},
                   {"help", s.help}});
  }
  return out;
}

// ---- Args -----------------------------------------------------------------------------------------

Args::Args() : values_(nlohmann::json::object()) {}
Args::Args(nlohmann::json values, std::string where) : values_(std::move(values)), where_(std::move(where)) {}

const nlohmann::json& Args::at(const std::string& key) const {
  auto it = values_.find(key);
  TRL_INTERNAL_ASSERT(it != values_.end(), "read of undeclared parameter '" + key + "'");
  return *it;
}

bool Args::has(const std::string& key) const {
  auto it = values_.find(key);
  return it != values_.end() && !it->is_null();
}

namespace {
[[noreturn]] void null_read(const std::string& key) {
  throw InternalError("parameter '" + key + "' is null; read it with an optional_ getter");
}
}  // namespace

bool Args::boolean(const std::string& key) const {
  const nlohmann::json& v = at(key);
  if (v.is_null()) null_read(key);
  return v.get<bool>();
}
int64_t Args::integer(const std::string& key) const {
  const nlohmann::json& v = at(key);
  if (v.is_null()) null_read(key);
  return v.get<int64_t>();
}
double Args::number(const std::string& key) const {
  const nlohmann::json& v = at(key);
  if (v.is_null()) null_read(key);
  return v.get<double>();
}
std::string Args::string(const std::string& key) const {
  const nlohmann::json& v = at(key);
  if (v.is_null()) null_read(key);
  return v.get<std::string>();
}
std::vector<std::string> Args::strings(const std::string& key) const {
  const nlohmann::json& v = at(key);
  if (v.is_null()) return {};
  return v.get<std::vector<std::string>>();
}
std::vector<double> Args::numbers(const std::string& key) const {
  const nlohmann::json& v = at(key);
  if (v.is_null()) return {};
  return v.get<std::vector<double>>();
}
std::optional<double> Args::optional_number(const std::string& key) const {
  const nlohmann::json& v = at(key);
  if (v.is_null()) return std::nullopt;
  return v.get<double>();
}
std::optional<int64_t> Args::optional_integer(const std::string& key) const {
  const nlohmann::json& v = at(key);
  if (v.is_null()) return std::nullopt;
  return v.get<int64_t>();
}
std::optional<std::string> Args::optional_string(const std::string& key) const {
  const nlohmann::json& v = at(key);
  if (v.is_null()) return std::nullopt;
  return v.get<std::string>();
}
const nlohmann::json& Args::value(const std::string& key) const { return at(key); }

void Args::fail(const std::string& key, const std::string& what) const { throw ConfigError(where_, key, what); }

}  // namespace trl
