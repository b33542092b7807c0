// TRL-style flags to a run config (see trl_flags.h).
#include "trl_flags.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <optional>

#include "trl/sdk/error.h"

namespace trl::host {
namespace {

// Names that are run-config keys rather than trainer parameters (TRL's ScriptArguments / ModelConfig).
const std::vector<std::string>& run_names() {
  static const std::vector<std::string> names = {
      "model_name_or_path", "model", "ref_model", "dataset_name", "dataset_train_split", "dataset_test_split",
      "train_dataset", "eval_dataset", "reward_funcs", "callbacks", "group_filter"};
  return names;
}

std::vector<std::string> split_commas(const std::vector<std::string>& words) {
  std::vector<std::string> out;
  for (const std::string& word : words) {
    size_t start = 0;
    while (start <= word.size()) {
      const size_t comma = word.find(',', start);
      const std::string part = word.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!part.empty()) out.push_back(part);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return out;
}

std::optional<double> parse_number(const std::string& word) {
  if (word.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(word.c_str(), &end);
  if (errno != 0 || end != word.c_str() + word.size()) return std::nullopt;
  return value;
}

// One word as a value of type `type` (HfArgumentParser's conversions: "True"/"False", "None").
nlohmann::json word_value(ParamType type, bool nullable, const std::string& word, const std::string& where) {
  if (nullable && (word == "None" || word == "null")) return nullptr;
  auto fail = [&](const std::string& expected) -> nlohmann::json {
    throw ConfigError(where + ": expected " + expected + ", got '" + word + "'");
  };
  switch (type) {
    case ParamType::boolean:
      if (word == "true" || word == "True" || word == "1" || word == "yes") return true;
      if (word == "false" || word == "False" || word == "0" || word == "no") return false;
      return fail("true or false");
    case ParamType::integer: {
      const std::optional<double> v = parse_number(word);
      if (!v || word.find_first_of(".eE") != std::string::npos) return fail("an integer");
      return static_cast<int64_t>(std::strtoll(word.c_str(), nullptr, 10));
    }
    case ParamType::number:
    case ParamType::number_list: {
      const std::optional<double> v = parse_number(word);
      if (!v) return fail("a number");
      if (word.find_first_of(".eEnN") == std::string::npos) return static_cast<int64_t>(*v);
      return *v;
    }
    case ParamType::object: {
      nlohmann::json value = nlohmann::json::parse(word, nullptr, /*allow_exceptions=*/false);
      if (value.is_discarded()) return fail("a JSON value");
      return value;
    }
    case ParamType::string:
    case ParamType::string_list:
      return word;
  }
  return fail("a value");
}

// The words after one flag as the parameter's JSON value.
nlohmann::json flag_value(const ParamSpec& spec, const std::vector<std::string>& words, const std::string& where) {
  const bool list = spec.type == ParamType::string_list || spec.type == ParamType::number_list;
  if (list) {
    nlohmann::json array = nlohmann::json::array();
    for (const std::string& word : split_commas(words)) array.push_back(word_value(spec.type, false, word, where));
    if (array.empty()) throw ConfigError(where + ": expected one or more values");
    return array;
  }
  if (words.empty()) {
    if (spec.type == ParamType::boolean) return true;  // `--bf16` alone, as HfArgumentParser
    throw ConfigError(where + ": expected a value (" + to_string(spec.type) + ")");
  }
  if (words.size() > 1)
    throw ConfigError(where + ": expected one value, got " + std::to_string(words.size()) + " ('" + words[0] + "', '" +
                      words[1] + "', ...)");
  return word_value(spec.type, spec.nullable, words[0], where);
}

// [{"name": n}, ...] from names, or specs given as objects (a config document) kept as they are.
nlohmann::json component_list(const nlohmann::json& value, const std::string& where) {
  nlohmann::json list = nlohmann::json::array();
  const nlohmann::json items = value.is_array() ? value : nlohmann::json::array({value});
  for (const nlohmann::json& item : items) {
    if (item.is_string()) {
      for (const std::string& name : split_commas({item.get<std::string>()})) list.push_back({{"name", name}});
    } else if (item.is_object()) {
      list.push_back(item);
    } else {
      throw ConfigError(where + ": expected component names or {\"name\": ..., \"args\": {...}}, got " + item.dump());
    }
  }
  return list;
}

class Builder {
 public:
  Builder(std::string trainer, const ParamTable& params) : params_(params) {
    config_ = {{"trainer", std::move(trainer)}};
  }

  // Sets `name` (a TRL name) to `value`; `where` locates it for errors ("--beta", "cfg.yaml: beta").
  void set(const std::string& name, const nlohmann::json& value, const std::string& where) {
    if (name == "model_name_or_path" || name == "model") {
      config_["model"] = value;
    } else if (name == "ref_model" || name == "train_dataset" || name == "eval_dataset") {
      config_[name] = value;
    } else if (name == "dataset_name") {
      dataset_name_ = text(value, where);
    } else if (name == "dataset_train_split") {
      train_split_ = text(value, where);
    } else if (name == "dataset_test_split") {
      test_split_ = text(value, where);
    } else if (name == "reward_funcs" || name == "callbacks") {
      config_[name] = component_list(value, where);
    } else if (name == "group_filter") {
      config_[name] = value.is_string() ? nlohmann::json{{"name", value}} : value;
    } else if (name == "trainer") {
      if (value != config_["trainer"])
        throw ConfigError(where + ": this command trains with '" + config_["trainer"].get<std::string>() +
                          "', the config names " + value.dump() + " (use `trl-host train` for another trainer)");
    } else if (name == "args") {
      if (!value.is_object()) throw ConfigError(where + ": expected an object of parameters, got " + value.dump());
      for (const auto& [key, v] : value.items()) set_param(key, v, where + ": " + key);
    } else {
      set_param(name, value, where);
    }
  }

  // A flag from the command line: its words converted by the parameter's declared type.
  void set_flag(const std::string& name, const std::vector<std::string>& words) {
    const std::string where = "--" + name;
    const ParamSpec* spec = params_.find(name);
    if (spec != nullptr) {
      config_["args"][name] = flag_value(*spec, words, where);
      return;
    }
    check_known(name, where);
    if (name == "reward_funcs" || name == "callbacks") {
      set(name, nlohmann::json(split_commas(words)), where);
      return;
    }
    if (words.size() != 1)
      throw ConfigError(where + ": expected one value, got " + std::to_string(words.size()));
    set(name, words[0], where);
  }

  nlohmann::json finish(const std::string& where) {
    if (dataset_name_) resolve_dataset(where);
    return config_;
  }

 private:
  void set_param(const std::string& name, const nlohmann::json& value, const std::string& where) {
    const ParamSpec* spec = params_.find(name);
    if (spec == nullptr) check_known(name, where);
    // `loss_type: sigmoid` in a flat YAML means what `--loss_type sigmoid` means: a one-element list.
    const bool list = spec != nullptr && (spec->type == ParamType::string_list || spec->type == ParamType::number_list);
    config_["args"][name] = list && !value.is_array() && !value.is_null() ? nlohmann::json::array({value}) : value;
  }

  void check_known(const std::string& name, const std::string& where) const {
    const std::vector<std::string>& run = run_names();
    if (std::find(run.begin(), run.end(), name) != run.end()) return;
    std::vector<std::string> candidates = run;
    for (const ParamSpec& spec : params_.specs()) candidates.push_back(spec.name);
    const std::string hint = did_you_mean(name, candidates);
    throw ConfigError(where + ": unknown " + (where.rfind("--", 0) == 0 ? "flag" : "key") +
                      (hint.empty() ? std::string() : " (did you mean '" + hint + "'?)") +
                      "; `trl-host plugins info " + config_["trainer"].get<std::string>() +
                      "` lists the trainer's parameters");
  }

  static std::string text(const nlohmann::json& value, const std::string& where) {
    if (!value.is_string() || value.get<std::string>().empty())
      throw ConfigError(where + ": expected a non-empty string, got " + value.dump());
    return value.get<std::string>();
  }

  // TRL loads dataset_name's splits; here a file is the train split and a folder holds one file per split.
  void resolve_dataset(const std::string& where) {
    namespace fs = std::filesystem;
    if (config_.contains("train_dataset"))
      throw ConfigError(where + ": dataset_name and train_dataset both name the training data; give one");
    if (!fs::is_directory(*dataset_name_)) {
      if (train_split_ != "train" || test_split_ != "test")
        throw ConfigError(where + ": dataset_train_split/dataset_test_split need dataset_name to be a folder of "
                          "<split>.jsonl files; " + *dataset_name_ + " is not a folder");
      config_["train_dataset"] = *dataset_name_;
      return;
    }
    config_["train_dataset"] = split_file(train_split_, "dataset_train_split", where);
    const nlohmann::json& args = config_.contains("args") ? config_["args"] : nlohmann::json::object();
    const ParamSpec* eval_spec = params_.find("eval_strategy");
    const nlohmann::json strategy =
        args.contains("eval_strategy") ? args["eval_strategy"] : eval_spec ? eval_spec->default_value : "no";
    if (strategy != "no" && !config_.contains("eval_dataset"))
      config_["eval_dataset"] = split_file(test_split_, "dataset_test_split", where);
  }

  std::string split_file(const std::string& split, const std::string& key, const std::string& where) const {
    for (const char* ext : {".jsonl", ".json"}) {
      const std::string path = *dataset_name_ + "/" + split + ext;
      if (std::filesystem::exists(path)) return path;
    }
    throw ConfigError(where + ": " + key + ": " + *dataset_name_ + " has no " + split + ".jsonl or " + split +
                      ".json");
  }

  const ParamTable& params_;
  nlohmann::json config_;
  std::optional<std::string> dataset_name_;
  std::string train_split_ = "train";
  std::string test_split_ = "test";
};

// "--learning-rate" and "--learning_rate" are the same flag (HfArgumentParser accepts both).
std::string flag_name(const std::string& word) {
  std::string name = word.substr(2);
  for (char& c : name)
    if (c == '-') c = '_';
  return name;
}

}  // namespace

nlohmann::json run_config_from_trl_flags(const std::string& trainer, const nlohmann::json& document,
                                         const std::string& document_path, const std::vector<std::string>& flags,
                                         const ParamTable& params) {
  Builder builder(trainer, params);
  if (!document.is_null()) {
    if (!document.is_object())
      throw ConfigError(document_path + ": expected a mapping of names to values at the top level, got " +
                        document.dump());
    for (const auto& [key, value] : document.items()) builder.set(key, value, document_path + ": " + key);
  }
  for (size_t i = 0; i < flags.size();) {
    const std::string& word = flags[i];
    if (word.rfind("--", 0) != 0 || word.size() == 2)
      throw ConfigError("'" + word + "': expected a flag (--name value), e.g. --beta 0.1");
    std::vector<std::string> words;
    std::string name;
    const size_t eq = word.find('=');
    if (eq != std::string::npos) {
      name = flag_name(word.substr(0, eq));
      words.push_back(word.substr(eq + 1));
      ++i;
    } else {
      name = flag_name(word);
      for (++i; i < flags.size() && flags[i].rfind("--", 0) != 0; ++i) words.push_back(flags[i]);
    }
    builder.set_flag(name, words);
  }
  return builder.finish(document.is_null() ? std::string("flags") : document_path);
}

}  // namespace trl::host
