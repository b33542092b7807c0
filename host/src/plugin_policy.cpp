// The stability policy of DESIGN.md "Stability" and spec/plugin-abi.md 3.4.
#include "plugin_policy.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <mutex>

#include "trl/sdk/error.h"
#include "trl/sdk/log.h"

namespace trl::host {
namespace {

std::string trimmed(const std::string& text) {
  const size_t first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

std::string lowered(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

}  // namespace

ExperimentalSilence parse_experimental_silence(const char* value) {
  ExperimentalSilence silence;
  if (value == nullptr) return silence;
  silence.text = value;
  const std::string text = trimmed(value);
  const std::string word = lowered(text);
  if (word.empty() || word == "0") return silence;
  if (word == "1" || word == "true" || word == "yes" || word == "all") {
    silence.all = true;
    return silence;
  }
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    const std::string name = trimmed(text.substr(start, comma - start));
    if (!name.empty()) silence.names.insert(name);
    start = comma + 1;
  }
  return silence;
}

ExperimentalSilence experimental_silence_from_env() {
  return parse_experimental_silence(std::getenv("TRL_EXPERIMENTAL_SILENCE"));
}

bool stable_only(const CommonOptions& common) {
  if (common.stable_only) return true;
  const char* value = std::getenv("TRL_STABLE_ONLY");
  if (value == nullptr) return false;
  const std::string word = lowered(trimmed(value));
  if (word == "1" || word == "true" || word == "yes") return true;
  if (word.empty() || word == "0" || word == "false" || word == "no") return false;
  throw ConfigError("environment", "TRL_STABLE_ONLY", "expected 1 or 0, got '" + std::string(value) + "'");
}

std::string experimental_warning_text(const std::string& name, const std::string& version) {
  return "plugin '" + name + "' " + version +
         " is EXPERIMENTAL: its API may change or be removed in any release. "
         "Set TRL_EXPERIMENTAL_SILENCE=1 (or TRL_EXPERIMENTAL_SILENCE=" + name + ") to silence this warning.";
}

std::string warning_state(const std::string& name, const ExperimentalSilence& silence) {
  if (!silence.silences(name)) return "shown";
  return "silenced by TRL_EXPERIMENTAL_SILENCE=" + silence.text;
}

bool warn_experimental_once(const std::string& name, const std::string& version) {
  static std::mutex mutex;
  static std::set<std::string> warned;
  std::lock_guard<std::mutex> lock(mutex);
  if (!warned.insert(name).second) return false;
  if (experimental_silence_from_env().silences(name)) return false;
  log::warn(experimental_warning_text(name, version));
  return true;
}

}  // namespace trl::host
