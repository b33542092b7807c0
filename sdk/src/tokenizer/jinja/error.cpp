// The interpreter's errors (error.h).
#include "tokenizer/jinja/error.h"

namespace trl::tokenizer::jinja {
namespace {

std::string with_position(SourcePos pos, const std::string& message) {
  if (pos.line <= 0) return message;
  return "line " + std::to_string(pos.line) + ":" + std::to_string(pos.column) + ": " + message;
}

}  // namespace

TemplateError::TemplateError(SourcePos pos, const std::string& message)
    : std::runtime_error(with_position(pos, message)), pos_(pos), message_(message) {}

}  // namespace trl::tokenizer::jinja
