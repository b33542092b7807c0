// The process-wide log sink (trl/sdk/log.h): spdlog to stderr, plus an optional run-log file.
#include "trl/sdk/log.h"

#include <algorithm>
#include <memory>
#include <mutex>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "trl/sdk/error.h"

namespace trl::log {
namespace {

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::trace: return spdlog::level::trace;
    case Level::debug: return spdlog::level::debug;
    case Level::info: return spdlog::level::info;
    case Level::warn: return spdlog::level::warn;
    case Level::error: return spdlog::level::err;
    case Level::off: return spdlog::level::off;
  }
  return spdlog::level::info;
}

struct Sink {
  std::mutex mutex;
  std::shared_ptr<spdlog::logger> logger;
  std::shared_ptr<spdlog::sinks::basic_file_sink_mt> file;
  Level level = Level::info;

  Sink() {
    auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    console->set_pattern("[%l] %v");
    logger = std::make_shared<spdlog::logger>("trl", console);
    logger->set_level(spdlog::level::trace);  // filtered per sink
    console->set_level(to_spdlog(level));
  }
};

Sink& sink() {
  static Sink instance;
  return instance;
}

void write(Level level, const std::string& message) {
  Sink& s = sink();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.logger->log(to_spdlog(level), message);
  if (s.file != nullptr) s.file->flush();
}

}  // namespace

void debug(const std::string& message) { write(Level::debug, message); }
void info(const std::string& message) { write(Level::info, message); }
void warn(const std::string& message) { write(Level::warn, message); }
void error(const std::string& message) { write(Level::error, message); }

void set_level(Level level) {
  Sink& s = sink();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.level = level;
  s.logger->sinks().front()->set_level(to_spdlog(level));
}

Level level() { return sink().level; }

Level parse_level(const std::string& text, const std::string& key) {
  if (text == "trace") return Level::trace;
  if (text == "debug") return Level::debug;
  if (text == "info") return Level::info;
  if (text == "warn" || text == "warning") return Level::warn;
  if (text == "error") return Level::error;
  if (text == "off") return Level::off;
  throw ConfigError("", key, "expected one of trace, debug, info, warn, error, off; got '" + text + "'");
}

void set_file_sink(const std::string& path) {
  Sink& s = sink();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.file != nullptr) {
    auto& sinks = s.logger->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), s.file), sinks.end());
  }
  s.file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, /*truncate=*/false);
  s.file->set_pattern("%Y-%m-%dT%H:%M:%S.%e [%l] %v");
  s.file->set_level(spdlog::level::debug);
  s.logger->sinks().push_back(s.file);
}

void clear_file_sink() {
  Sink& s = sink();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.file == nullptr) return;
  auto& sinks = s.logger->sinks();
  sinks.erase(std::remove(sinks.begin(), sinks.end(), s.file), sinks.end());
  s.file.reset();
}

}  // namespace trl::log
