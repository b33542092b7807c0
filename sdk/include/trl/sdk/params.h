// trl/sdk/params.h: declared parameters, so no component parses its configuration by hand.
//
// Every component (and the shared TrainingArguments) declares a ParamTable: name, type, default, allowed
// values or range, one-line help. The SDK validates a config block against it (unknown key with a
// "did you mean", wrong type, out of range: every message names the key), fills in defaults, and hands
// the component an Args with typed getters. `trl-host plugins info NAME` prints the same table and the
// docs are generated from it. Use TRL's names and defaults.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace trl {

/// The JSON type a parameter takes.
enum class ParamType {
  boolean,      ///< true / false
  integer,      ///< a JSON integer (a float with no fraction, e.g. 2.0, is refused: say 2)
  number,       ///< any JSON number, read as double
  string,       ///< a JSON string
  string_list,  ///< an array of strings (optionally also a single string, see accept_single())
  number_list,  ///< an array of numbers (optionally also a single number)
  object        ///< any JSON value, validated by the component itself
};

/// Name of a ParamType as the docs and error messages spell it ("number", "list of strings", ...).
std::string to_string(ParamType type);

/// One declared parameter. Built through ParamTable::add and its chainable setters.
struct ParamSpec {
  std::string name;                       ///< the key, TRL spelling
  ParamType type = ParamType::string;     ///< the JSON type accepted
  nlohmann::json default_value;           ///< filled in when the key is absent; null = TRL's None
  std::string help;                       ///< one line for `plugins info` and the docs
  bool nullable = false;                  ///< accepts null (None); implied when the default is null
  bool required = false;                  ///< must be present (then the default is ignored)
  bool single_as_list = false;            ///< a list type also accepts one scalar, turned into [scalar]
  std::vector<std::string> choices;       ///< allowed strings (for string and string_list); empty = any
  std::optional<double> min;              ///< lower bound for numbers (each element for number_list)
  std::optional<double> max;              ///< upper bound
  bool min_inclusive = true;              ///< whether min itself is allowed
  bool max_inclusive = true;              ///< whether max itself is allowed

  /// Restricts a string (or each string of a list) to `allowed`.
  ParamSpec& one_of(std::vector<std::string> allowed);
  /// Requires min <= value <= max (each bound inclusive unless stated).
  ParamSpec& range(double lo, double hi, bool lo_inclusive = true, bool hi_inclusive = true);
  /// Requires value > lo.
  ParamSpec& greater_than(double lo);
  /// Requires value >= lo.
  ParamSpec& at_least(double lo);
  /// Accepts null (TRL's None).
  ParamSpec& allow_null();
  /// Makes the key mandatory.
  ParamSpec& make_required();
  /// For list types: also accept a single scalar (TRL turns loss_type="sigmoid" into ["sigmoid"]).
  ParamSpec& accept_single();
  /// The bounds and choices in words, e.g. "> 0", "in [0, 1]", "one of: a, b".
  std::string constraint_text() const;
};

/// Validated parameter values with defaults filled in; the component reads them through typed getters.
/// Reading a key the table did not declare is a bug (InternalError), never silently a default.
class Args {
 public:
  /// Empty arguments (no keys).
  Args();
  /// `values` has been validated; `where` prefixes error messages ("run.json: args").
  Args(nlohmann::json values, std::string where);

  /// Whether `key` holds a non-null value.
  bool has(const std::string& key) const;
  /// A boolean parameter.
  bool boolean(const std::string& key) const;
  /// An integer parameter.
  int64_t integer(const std::string& key) const;
  /// A number parameter (integers are widened).
  double number(const std::string& key) const;
  /// A string parameter.
  std::string string(const std::string& key) const;
  /// A list-of-strings parameter.
  std::vector<std::string> strings(const std::string& key) const;
  /// A list-of-numbers parameter.
  std::vector<double> numbers(const std::string& key) const;
  /// A nullable number: nullopt for null.
  std::optional<double> optional_number(const std::string& key) const;
  /// A nullable integer: nullopt for null.
  std::optional<int64_t> optional_integer(const std::string& key) const;
  /// A nullable string: nullopt for null.
  std::optional<std::string> optional_string(const std::string& key) const;
  /// The raw value (for object parameters); throws InternalError if undeclared.
  const nlohmann::json& value(const std::string& key) const;
  /// Every value, defaults included, as one JSON object (what a run records in its output dir).
  const nlohmann::json& json() const { return values_; }
  /// Where these came from, for the component's own error messages.
  const std::string& where() const { return where_; }
  /// The absolute folder of the run config these arguments came from, for components that resolve
  /// relative paths as the host does (relative to the config file); empty when they came from no file.
  /// The host sets it when it builds a component from a run config.
  const std::string& config_dir() const { return config_dir_; }
  /// Sets config_dir() (the host does, before the component's factory runs).
  void set_config_dir(std::string dir) { config_dir_ = std::move(dir); }

  /// A ConfigError for `key` at this Args' location: for checks the table cannot express.
  [[noreturn]] void fail(const std::string& key, const std::string& what) const;

 private:
  const nlohmann::json& at(const std::string& key) const;
  nlohmann::json values_;
  std::string where_;
  std::string config_dir_;
};

/// The declared parameters of one component (or of TrainingArguments).
class ParamTable {
 public:
  /// Declares a parameter; the returned spec is chainable (`.greater_than(0)`).
  /// A null default makes the parameter nullable. Declaring a name twice is a bug.
  ParamSpec& add(const std::string& name, ParamType type, nlohmann::json default_value, std::string help);
  /// Appends every parameter of `other` (e.g. TrainingArguments under a trainer's own); duplicates are a bug.
  void merge(const ParamTable& other);
  /// Changes the default of a declared parameter (a trainer's learning_rate=1e-6 over HF's 5e-5).
  void set_default(const std::string& name, nlohmann::json value);
  /// The declared parameters in declaration order.
  const std::vector<ParamSpec>& specs() const { return specs_; }
  /// The spec named `name`, or nullptr.
  const ParamSpec* find(const std::string& name) const;

  /// Validates a JSON object (null = {}) against the table and fills defaults. Throws ConfigError
  /// "where: key: ..." for an unknown key (with a "did you mean"), a wrong type or a value out of range.
  Args validate(const nlohmann::json& config, const std::string& where) const;
  /// Validates only the keys this table declares and returns them; other keys are left for another table.
  Args validate_known(const nlohmann::json& config, const std::string& where) const;

  /// A Markdown table: name | type | default | allowed | help.
  std::string markdown() const;
  /// A JSON array of {name, type, default, constraint, help}, for `plugins info --json`.
  nlohmann::json to_json() const;

 private:
  std::vector<ParamSpec> specs_;
};

/// The candidate closest to `word` by edit distance when it is close enough to be a likely typo, else "".
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace trl
