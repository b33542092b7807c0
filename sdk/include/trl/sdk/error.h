// trl/sdk/error.h: the exception types of the host and SDK.
//
// The type says who must act; the message says where (file, line, key), what was expected and what was
// found. A broken invariant is an InternalError ("bug: ..."), kept apart from errors caused by input.
// These types never cross the C ABI (abi.h); inside C++ components they may be thrown freely: the host
// catches them at its call into the component and attributes them to the plugin.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace trl {

/// Base of every trl-host error; what() is the complete, user-facing message.
class Error : public std::runtime_error {
 public:
  /// Wraps a complete message.
  explicit Error(const std::string& message);
  ~Error() override;
};

/// A run config, CLI flag or component parameter is wrong: "where: key: expected ..., got ...". Exit code 2.
class ConfigError : public Error {
 public:
  /// `where` is the file (or "--set", "args"), `key` the dotted key path, `what` the expectation and value.
  ConfigError(const std::string& where, const std::string& key, const std::string& what);
  /// A message that names its own location.
  explicit ConfigError(const std::string& message);
  ~ConfigError() override;
};

/// A data file is malformed or unusable: "file:line: what". line 0 means the file as a whole.
class DataError : public Error {
 public:
  /// `line` is 1-based (JSONL line, or JSON array element index + 1); 0 omits it.
  DataError(const std::string& file, int64_t line, const std::string& what);
  ~DataError() override;
};

/// A model or tokenizer file is malformed or unsupported: "file: what" (the tensor or key is in `what`).
class ModelError : public Error {
 public:
  /// `file` is the path of the offending file.
  ModelError(const std::string& file, const std::string& what);
  ~ModelError() override;
};

/// A checkpoint cannot be written or read back: "dir: what".
class CheckpointError : public Error {
 public:
  /// `dir` is the checkpoint folder.
  CheckpointError(const std::string& dir, const std::string& what);
  ~CheckpointError() override;
};

/// A plugin was refused, failed to load, or one of its components failed: "plugin 'name': what: message".
/// Exit code 3 when it stops a command.
class PluginError : public Error {
 public:
  /// `plugin` names the plugin, `what` the call or rule ("trainer 'dpo': compute_loss"), `message` the cause.
  PluginError(const std::string& plugin, const std::string& what, const std::string& message);
  /// A message that names its own plugin.
  explicit PluginError(const std::string& message);
  ~PluginError() override;
};

/// Training stopped because the loss or a gradient is not finite: names the step. Exit code 1.
class NonFiniteError : public Error {
 public:
  /// `step` is the optimizer step (1-based) whose loss or gradient was NaN/Inf.
  NonFiniteError(int64_t step, const std::string& what);
  ~NonFiniteError() override;
};

/// A broken invariant inside trl-host or the SDK: a bug, never the user's fault.
class InternalError : public Error {
 public:
  /// `message` says which invariant broke; what() is prefixed with "bug: ".
  explicit InternalError(const std::string& message);
  ~InternalError() override;
};

}  // namespace trl

/// Throws trl::InternalError when `cond` is false: for invariants only, never for bad input.
#define TRL_INTERNAL_ASSERT(cond, message)                                                            \
  do {                                                                                                \
    if (!(cond)) throw ::trl::InternalError(std::string(__FILE__) + ":" + std::to_string(__LINE__) + \
                                            ": " #cond ": " + (message));                            \
  } while (0)
