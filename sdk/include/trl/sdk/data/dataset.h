// trl/sdk/data/dataset.h: reading JSONL / JSON-array datasets into preference and prompt-only rows.
//
// A row's text fields are either standard (a string) or conversational (a list of {role, content}),
// judged from the first row as TRL does. Every error is a DataError "file:line: what is wrong", raised
// before training starts; an empty dataset is an error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "trl/sdk/tokenizer/tokenizer.h"

namespace trl {

/// A text field: a plain string (standard data) or messages (conversational data).
struct TextOrChat {
  std::string text;                ///< standard: the string
  std::vector<Message> messages;   ///< conversational: the messages
  bool is_chat = false;            ///< which of the two
};

/// One preference example; implicit-prompt rows already have their prompt extracted.
struct PreferenceRow {
  TextOrChat prompt;                       ///< may be empty text (no prompt)
  TextOrChat chosen;                       ///< the preferred completion
  TextOrChat rejected;                     ///< the dispreferred completion
  nlohmann::json chat_template_kwargs = nlohmann::json::object();  ///< per-row template arguments
  std::string source;                      ///< "file:line", for messages
};

/// One prompt-only example (GRPO/GFPO); other columns are handed to reward functions.
struct PromptRow {
  TextOrChat prompt;                       ///< the prompt
  nlohmann::json columns = nlohmann::json::object();  ///< every other column of the row
  std::string source;                      ///< "file:line"
};

/// A JSON object with where it came from.
struct JsonRow {
  nlohmann::json value;  ///< the row (an object)
  int64_t line = 0;      ///< 1-based line (JSONL) or element index + 1 (JSON array)
};

/// Reads a .jsonl (one object per line, blank lines skipped) or .json (an array of objects, or
/// {"train": [...]}) file. Errors name file:line.
std::vector<JsonRow> read_json_rows(const std::string& path);

/// Loads preference rows: {prompt, chosen, rejected} or {chosen, rejected} (prompt = longest common
/// prefix, in characters for strings with a trailing space given to the completions, in whole messages
/// for conversations; TRL's extract_prompt).
std::vector<PreferenceRow> load_preference_dataset(const std::string& path);

/// Loads prompt-only rows: {prompt, ...}.
std::vector<PromptRow> load_prompt_dataset(const std::string& path);

}  // namespace trl
