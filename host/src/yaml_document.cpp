// YAML to JSON with yaml-cpp (Debian's libyaml-cpp-dev); see yaml_document.h.
#include "yaml_document.h"

#include <cerrno>
#include <cstdlib>
#include <limits>
#include <regex>

#include <yaml-cpp/yaml.h>

#include "trl/sdk/error.h"

namespace trl::host {
namespace {

std::string where(const std::string& path, const YAML::Mark& mark) {
  if (mark.is_null()) return path;
  return path + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

// A plain scalar by the YAML 1.2 core schema (yaml.org/spec/1.2.2/#1023-core-schema).
nlohmann::json resolve_plain(const std::string& text) {
  static const std::regex null_re("~|null|Null|NULL|");
  static const std::regex true_re("true|True|TRUE"), false_re("false|False|FALSE");
  static const std::regex int_re("[-+]?[0-9]+"), oct_re("0o[0-7]+"), hex_re("0x[0-9a-fA-F]+");
  static const std::regex float_re("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
  static const std::regex inf_re("[-+]?(\\.inf|\\.Inf|\\.INF)"), nan_re("\\.nan|\\.NaN|\\.NAN");
  if (std::regex_match(text, null_re)) return nullptr;
  if (std::regex_match(text, true_re)) return true;
  if (std::regex_match(text, false_re)) return false;
  if (std::regex_match(text, int_re)) {
    errno = 0;
    const long long value = std::strtoll(text.c_str(), nullptr, 10);
    if (errno == 0) return static_cast<int64_t>(value);
    return std::strtod(text.c_str(), nullptr);  // past int64: a number all the same
  }
  if (std::regex_match(text, oct_re)) return static_cast<int64_t>(std::strtoll(text.c_str() + 2, nullptr, 8));
  if (std::regex_match(text, hex_re)) return static_cast<int64_t>(std::strtoll(text.c_str() + 2, nullptr, 16));
  if (std::regex_match(text, float_re)) return std::strtod(text.c_str(), nullptr);
  if (std::regex_match(text, inf_re))
    return text[0] == '-' ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  if (std::regex_match(text, nan_re)) return std::numeric_limits<double>::quiet_NaN();
  return text;
}

nlohmann::json to_json(const YAML::Node& node, const std::string& path) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return nullptr;
    case YAML::NodeType::Scalar: {
      const std::string& tag = node.Tag();
      // "?" = a plain scalar to resolve; "!" = quoted (non-plain), always a string.
      if (tag == "?") return resolve_plain(node.Scalar());
      if (tag == "!" || tag == "tag:yaml.org,2002:str") return node.Scalar();
      const nlohmann::json resolved = resolve_plain(node.Scalar());
      const bool fits = (tag == "tag:yaml.org,2002:int" && resolved.is_number_integer()) ||
                        (tag == "tag:yaml.org,2002:float" && resolved.is_number()) ||
                        (tag == "tag:yaml.org,2002:bool" && resolved.is_boolean()) ||
                        (tag == "tag:yaml.org,2002:null" && resolved.is_null());
      if (!fits)
        throw ConfigError(where(path, node.Mark()) + ": invalid YAML: tag " + tag + " does not fit the value '" +
                          node.Scalar() + "'");
      return resolved;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json array = nlohmann::json::array();
      for (const YAML::Node& item : node) array.push_back(to_json(item, path));
      return array;
    }
    case YAML::NodeType::Map: {
      nlohmann::json object = nlohmann::json::object();
      for (const auto& kv : node) {
        if (!kv.first.IsScalar())
          throw ConfigError(where(path, kv.first.Mark()) + ": invalid YAML: a key must be a plain string");
        const std::string key = kv.first.Scalar();
        if (object.contains(key))
          throw ConfigError(where(path, kv.first.Mark()) + ": invalid YAML: key '" + key + "' appears twice");
        object[key] = to_json(kv.second, path);
      }
      return object;
    }
  }
  throw InternalError("yaml_document: unknown yaml-cpp node type");
}

// The 1-based line where a second YAML document starts, or 0. Document markers ("---", "...") are only
// markers at column 0 and can never be part of a scalar there (YAML 1.2 c-forbidden), so a line scan is
// exact: a "---" after content, or content after "...", opens another document.
size_t second_document_line(const std::string& text) {
  bool content = false, ended = false;
  size_t line_no = 0, begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(begin, end - begin);
    ++line_no;
    begin = end + 1;
    const auto marker = [&](const char* m) {
      return line.compare(0, 3, m) == 0 && (line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r');
    };
    if (marker("---")) {
      if (content || ended) return line_no;
      const size_t rest = line.find_first_not_of(" \t\r", 3);
      content = rest != std::string::npos && line[rest] != '#';
      continue;
    }
    if (marker("...")) {
      ended = content || ended;
      continue;
    }
    const size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#' || (line[0] == '%' && !content)) continue;
    if (ended) return line_no;
    content = true;
  }
  return 0;
}

}  // namespace

nlohmann::json parse_yaml(const std::string& text, const std::string& path) {
  // One document only. YAML::LoadAll is not used: yaml-cpp 0.7 (Debian 12) loops forever in it on inputs
  // such as `"a",` (jbeder/yaml-cpp#1040, fixed upstream by PR #1319); YAML::Load reads one document.
  if (const size_t line = second_document_line(text); line != 0)
    throw ConfigError(path + ":" + std::to_string(line) + ": invalid YAML: expected one document, found another here");
  try {
    const YAML::Node document = YAML::Load(text);
    return document.IsDefined() ? to_json(document, path) : nlohmann::json();
  } catch (const YAML::Exception& e) {
    throw ConfigError(where(path, e.mark) + ": invalid YAML: " + e.msg);
  }
}

}  // namespace trl::host
