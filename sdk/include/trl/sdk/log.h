// trl/sdk/log.h: logging for the SDK and plugins, one sink shared by the whole process.
//
// Messages go to stderr (and to the run log while a training run is active). Plugins use these functions
// instead of linking a logging library, so every line from every plugin lands in the same place.
#pragma once

#include <string>

namespace trl::log {

/// Severity, lowest first; messages below the active level are dropped.
enum class Level { trace, debug, info, warn, error, off };

/// Detailed diagnostics, hidden by default.
void debug(const std::string& message);
/// Progress and facts the user wants by default.
void info(const std::string& message);
/// Something surprising that does not stop the command.
void warn(const std::string& message);
/// Something that failed; the caller usually throws afterwards.
void error(const std::string& message);

/// Sets the process-wide level (the host's --log-level).
void set_level(Level level);
/// The active level.
Level level();
/// Parses "trace|debug|info|warn|error|off"; throws trl::ConfigError naming `key` otherwise.
Level parse_level(const std::string& text, const std::string& key);

/// Also writes every message to `path` (appending) until clear_file_sink(); used for a run's log file.
void set_file_sink(const std::string& path);
/// Stops writing to the file set by set_file_sink.
void clear_file_sink();

}  // namespace trl::log
