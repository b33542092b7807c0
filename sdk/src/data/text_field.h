// Internal: reading a row's text column (a string or a message list) with file:line errors.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "trl/sdk/data/dataset.h"

namespace trl::detail {

/// Where a row came from, for DataError messages.
struct RowPlace {
  const std::string& file;  ///< the dataset file
  int64_t line;             ///< the row's line
};

/// Whether `row` has `key` with a non-null value (a null is a missing column, as in a HF dataset).
bool has_column(const nlohmann::json& row, const std::string& key);

/// Throws "file:line: missing column 'key'" (plus `hint`) unless has_column.
void require_column(const nlohmann::json& row, const std::string& key, const RowPlace& place,
                    const std::string& hint = "");

/// TRL's is_conversational for one value: a list whose first element is an object with "role". Throws
/// DataError when `value` is neither a string nor such a list, so the first row decides the format.
bool judge_is_chat(const nlohmann::json& value, const std::string& key, const RowPlace& place);

/// Reads `value` (the column `key`) as the dataset's kind: a string, or a list of {role, content}
/// messages with a known role. `allow_empty_chat` admits an empty list (e.g. no prompt).
TextOrChat parse_text_field(const nlohmann::json& value, const std::string& key, bool is_chat, bool allow_empty_chat,
                            const RowPlace& place);

}  // namespace trl::detail
