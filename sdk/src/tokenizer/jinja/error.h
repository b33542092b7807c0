// Errors of the Jinja interpreter. They carry the template position (1-based line and column) and a
// message without it; the chat-template layer turns them into ConfigError/DataError naming the file.
#pragma once

#include <stdexcept>
#include <string>

namespace trl::tokenizer::jinja {

/// A position in the template source: 1-based line and column (columns count code points).
struct SourcePos {
  int line = 0;    ///< 1-based; 0 = unknown
  int column = 0;  ///< 1-based; 0 = unknown
};

/// Base of the interpreter's errors: what() is "line L:C: message".
class TemplateError : public std::runtime_error {
 public:
  /// `message` says what went wrong, without the position.
  TemplateError(SourcePos pos, const std::string& message);
  /// Where it happened.
  SourcePos pos() const { return pos_; }
  /// The message without the position.
  const std::string& message() const { return message_; }

 private:
  SourcePos pos_;
  std::string message_;
};

/// The template cannot be parsed, or uses a construct this interpreter does not implement.
class TemplateSyntaxError : public TemplateError {
 public:
  using TemplateError::TemplateError;
};

/// Rendering failed as jinja2 would fail: an undefined value used, a type error, a bad index.
class TemplateRuntimeError : public TemplateError {
 public:
  using TemplateError::TemplateError;
};

/// The template called raise_exception(message) (transformers' helper): message() is its argument.
class TemplateRaisedError : public TemplateError {
 public:
  using TemplateError::TemplateError;
};

}  // namespace trl::tokenizer::jinja
