// Helpers for the Jinja interpreter tests: render a template string with JSON variables.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "tokenizer/jinja/template.h"

namespace jinja_test {

/// Renders `source` with the top-level keys of `variables` (a JSON object) as the context.
inline std::string render(const std::string& source,
                          const nlohmann::ordered_json& variables = nlohmann::ordered_json::object()) {
  namespace jinja = trl::tokenizer::jinja;
  jinja::Dict context;
  for (const auto& [key, value] : variables.items()) context.set(key, jinja::Value::from_json(value));
  return jinja::Template(source).render(context);
}

}  // namespace jinja_test
