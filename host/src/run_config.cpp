// Run-config reading and checking (see run_config.h).
#include "run_config.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "trl/sdk/error.h"
#include "trl/sdk/model/lora.h"
#include "trl/sdk/params.h"
#include "yaml_document.h"

namespace trl::host {
namespace {
namespace fs = std::filesystem;

const std::vector<std::string>& top_level_keys() {
  static const std::vector<std::string> keys = {"trainer",     "model",    "ref_model",    "train_dataset",
                                                "eval_dataset", "args",    "callbacks",    "reward_funcs",
                                                "group_filter", "peft"};
  return keys;
}

// "line L, column C" of a byte offset, for JSON parse errors.
std::string line_column(const std::string& text, size_t offset) {
  size_t line = 1, column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return std::to_string(line) + ":" + std::to_string(column);
}

// By extension first (TRL's own configs are .yaml), then by content: JSON objects start with '{'.
bool is_yaml(const std::string& path, const std::string& text) {
  auto ends_with = [&](const std::string& suffix) {
    return path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends_with(".yaml") || ends_with(".yml")) return true;
  if (ends_with(".json")) return false;
  const size_t first = text.find_first_not_of(" \t\r\n");
  return first == std::string::npos || text[first] != '{';
}

nlohmann::json parse_json(const std::string& text, const std::string& path) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw ConfigError(path + ":" + line_column(text, e.byte > 0 ? e.byte - 1 : 0), "",
                      std::string("invalid JSON: ") + e.what());
  } catch (const nlohmann::json::exception& e) {
    // e.g. out_of_range.406 for a number past double's range (1e999): still the config's fault.
    throw ConfigError(path, "", std::string("invalid JSON: ") + e.what());
  }
}

nlohmann::json parse_value(const std::string& text) {
  nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  return value.is_discarded() ? nlohmann::json(text) : value;
}

void apply_override(nlohmann::json& config, const std::string& entry) {
  const size_t eq = entry.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError("--set", entry, "expected key=value, e.g. --set args.max_steps=10");
  std::string key = entry.substr(0, eq);
  const nlohmann::json value = parse_value(entry.substr(eq + 1));
  const auto& tops = top_level_keys();
  if (key.find('.') == std::string::npos && std::find(tops.begin(), tops.end(), key) == tops.end())
    key = "args." + key;
  nlohmann::json* node = &config;
  size_t start = 0;
  while (true) {
    const size_t dot = key.find('.', start);
    const std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (part.empty()) throw ConfigError("--set", key, "empty key component");
    if (!node->is_object()) {
      if (!node->is_null()) throw ConfigError("--set", key, "'" + part + "' is inside a value that is not an object");
      *node = nlohmann::json::object();
    }
    if (dot == std::string::npos) {
      (*node)[part] = value;
      return;
    }
    node = &(*node)[part];
    start = dot + 1;
  }
}

// A value as JSON text for an error message; invalid UTF-8 (a YAML scalar or a --set value may hold
// any bytes) is shown as U+FFFD instead of making dump() throw while the error is being reported.
std::string shown(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string required_string(const nlohmann::json& config, const std::string& key, const std::string& path) {
  if (!config.contains(key)) throw ConfigError(path, key, "is required");
  if (!config.at(key).is_string() || config.at(key).get<std::string>().empty())
    throw ConfigError(path, key, "expected a non-empty string, got " + shown(config.at(key)));
  return config.at(key).get<std::string>();
}

std::optional<std::string> optional_string(const nlohmann::json& config, const std::string& key,
                                           const std::string& path) {
  if (!config.contains(key) || config.at(key).is_null()) return std::nullopt;
  if (!config.at(key).is_string() || config.at(key).get<std::string>().empty())
    throw ConfigError(path, key, "expected a non-empty string or null, got " + shown(config.at(key)));
  return config.at(key).get<std::string>();
}

nlohmann::json list_of_specs(const nlohmann::json& config, const std::string& key, const std::string& path) {
  if (!config.contains(key) || config.at(key).is_null()) return nlohmann::json::array();
  const nlohmann::json& v = config.at(key);
  if (!v.is_array())
    throw ConfigError(path, key, "expected a list of {\"name\": ..., \"args\": {...}}, got " + shown(v));
  return v;
}

// Keys whose string values are file or folder paths (see resolve_config_paths). The top level also holds
// the TRL-style flat names that `trl-host dpo|gfpo --config` accepts.
const std::vector<std::string>& top_level_path_keys() {
  static const std::vector<std::string> keys = {"model",        "model_name_or_path", "ref_model",
                                                "train_dataset", "eval_dataset",      "dataset_name",
                                                "output_dir",   "resume_from_checkpoint", "logging_dir"};
  return keys;
}
const std::vector<std::string>& args_path_keys() {
  static const std::vector<std::string> keys = {"output_dir", "resume_from_checkpoint", "logging_dir"};
  return keys;
}

void resolve_path_value(nlohmann::json& object, const std::string& key, const fs::path& folder) {
  if (!object.contains(key) || !object.at(key).is_string()) return;  // a wrong type is parse_run_config's to report
  const std::string text = object.at(key).get<std::string>();
  // "last" is resume_from_checkpoint's keyword for the newest checkpoint in output_dir, not a folder.
  if (text.empty() || (key == "resume_from_checkpoint" && text == "last")) return;
  const fs::path path(text);
  if (path.is_absolute()) return;
  object[key] = (folder / path).lexically_normal().string();
}

// A folder's or file's absence as the error a loader would raise, with the key and the config named.
std::string missing(const std::string& what, const std::string& key, const RunConfig& run) {
  return "no such " + what + " (\"" + key + "\" of " + run.path +
         "; a relative path in a config file is relative to the file's folder, on the command line to the "
         "current directory)";
}

}  // namespace

void resolve_config_paths(nlohmann::json& document, const std::string& config_path) {
  if (!document.is_object()) return;
  fs::path folder;
  try {
    folder = fs::absolute(fs::path(config_path)).parent_path();
  } catch (const fs::filesystem_error& e) {
    throw ConfigError(config_path, "", std::string("cannot resolve the folder of the config file: ") + e.what());
  }
  for (const std::string& key : top_level_path_keys()) resolve_path_value(document, key, folder);
  if (document.contains("args") && document.at("args").is_object())
    for (const std::string& key : args_path_keys()) resolve_path_value(document["args"], key, folder);
}

std::string config_folder(const std::string& config_path) {
  std::error_code ec;
  const fs::path folder = fs::absolute(fs::path(config_path), ec).parent_path();
  return ec ? std::string() : folder.lexically_normal().string();
}

void check_input_paths(const RunConfig& run) {
  std::error_code ec;
  if (!fs::is_directory(run.model, ec)) throw ModelError(run.model, missing("model folder", "model", run));
  if (run.ref_model && !fs::is_directory(*run.ref_model, ec))
    throw ModelError(*run.ref_model, missing("model folder", "ref_model", run));
  if (!fs::exists(run.train_dataset, ec)) throw DataError(run.train_dataset, 0, missing("file", "train_dataset", run));
  if (run.eval_dataset && !fs::exists(*run.eval_dataset, ec))
    throw DataError(*run.eval_dataset, 0, missing("file", "eval_dataset", run));
}

RunConfig parse_run_config(const nlohmann::json& config, const std::string& path) {
  if (!config.is_object()) throw ConfigError(path, "", "expected a JSON object at the top level");
  for (auto it = config.begin(); it != config.end(); ++it) {
    const auto& tops = top_level_keys();
    if (std::find(tops.begin(), tops.end(), it.key()) != tops.end()) continue;
    const std::string hint = did_you_mean(it.key(), tops);
    throw ConfigError(path, it.key(),
                      "unknown key" + (hint.empty() ? std::string() : " (did you mean \"" + hint + "\"?)") +
                          "; expected one of: trainer, model, ref_model, train_dataset, eval_dataset, args, "
                          "callbacks, reward_funcs, group_filter, peft");
  }
  RunConfig run;
  run.path = path;
  run.raw = config;
  run.trainer = required_string(config, "trainer", path);
  run.model = required_string(config, "model", path);
  run.ref_model = optional_string(config, "ref_model", path);
  run.train_dataset = required_string(config, "train_dataset", path);
  run.eval_dataset = optional_string(config, "eval_dataset", path);
  if (config.contains("args") && !config.at("args").is_object())
    throw ConfigError(path, "args", "expected an object of parameters, got " + shown(config.at("args")));
  run.callbacks = list_of_specs(config, "callbacks", path);
  run.reward_funcs = list_of_specs(config, "reward_funcs", path);
  run.group_filter = config.value("group_filter", nlohmann::json());
  // LoRA (PEFT's LoraConfig names): checked here so a bad key fails before any model is loaded.
  run.peft = config.value("peft", nlohmann::json());
  if (!run.peft.is_null()) lora_config_from_json(run.peft, path + ": peft");
  if (!run.group_filter.is_null() && !run.group_filter.is_object() && !run.group_filter.is_string())
    throw ConfigError(path, "group_filter", "expected {\"name\": ..., \"args\": {...}} or null, got " +
                                                shown(run.group_filter));
  return run;
}

nlohmann::json read_config_document(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path, "", "cannot be read");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  nlohmann::json document;
  if (is_yaml(path, text)) {
    document = parse_yaml(text, path);
  } else {
    document = parse_json(text, path);
  }
  resolve_config_paths(document, path);
  return document;
}

RunConfig load_run_config(const std::string& path, const std::vector<std::string>& overrides) {
  nlohmann::json config = read_config_document(path);
  for (const std::string& entry : overrides) apply_override(config, entry);
  return parse_run_config(config, path);
}

}  // namespace trl::host
