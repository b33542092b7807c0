// Out-of-line constructors and key functions of the error types (trl/sdk/error.h).
#include "trl/sdk/error.h"

namespace trl {

namespace {
std::string join_where(const std::string& where, const std::string& key, const std::string& what) {
  std::string out = where;
  if (!key.empty()) out += (out.empty() ? "" : ": ") + key;
  return out + (out.empty() ? "" : ": ") + what;
}
}  // namespace

Error::Error(const std::string& message) : std::runtime_error(message) {}
Error::~Error() = default;

ConfigError::ConfigError(const std::string& where, const std::string& key, const std::string& what)
    : Error(join_where(where, key, what)) {}
ConfigError::ConfigError(const std::string& message) : Error(message) {}
ConfigError::~ConfigError() = default;

DataError::DataError(const std::string& file, int64_t line, const std::string& what)
    : Error(file + (line > 0 ? ":" + std::to_string(line) : std::string()) + ": " + what) {}
DataError::~DataError() = default;

ModelError::ModelError(const std::string& file, const std::string& what) : Error(file + ": " + what) {}
ModelError::~ModelError() = default;

CheckpointError::CheckpointError(const std::string& dir, const std::string& what) : Error(dir + ": " + what) {}
CheckpointError::~CheckpointError() = default;

PluginError::PluginError(const std::string& plugin, const std::string& what, const std::string& message)
    : Error("plugin '" + plugin + "': " + what + ": " + message) {}
PluginError::PluginError(const std::string& message) : Error(message) {}
PluginError::~PluginError() = default;

NonFiniteError::NonFiniteError(int64_t step, const std::string& what)
    : Error("step " + std::to_string(step) + ": " + what) {}
NonFiniteError::~NonFiniteError() = default;

InternalError::InternalError(const std::string& message) : Error("bug: " + message) {}
InternalError::~InternalError() = default;

}  // namespace trl
