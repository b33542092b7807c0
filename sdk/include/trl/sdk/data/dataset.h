// trl/sdk/data/dataset.h: reading JSONL / JSON-array datasets into preference and prompt-only rows.
//
// A row's text fields are either standard (a string) or conversational (a list of {role, content}),
// judged from the first row as TRL does (spec §1.2); every later row must agree. Every error is a
// DataError "file:line: what is wrong", raised before training starts; an empty dataset is an error.
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
  std::string text;                ///< standard: the string (UTF-8); empty for conversational fields
  std::vector<Message> messages;   ///< conversational: the messages; empty for standard fields
  bool is_chat = false;            ///< which of the two

  /// A standard field holding `text`.
  static TextOrChat of_text(std::string text);
  /// A conversational field holding `messages`.
  static TextOrChat of_chat(std::vector<Message> messages);
};

/// Two fields are equal when they are the same kind with the same text or the same messages.
bool operator==(const TextOrChat& a, const TextOrChat& b);
/// Negation of operator==.
bool operator!=(const TextOrChat& a, const TextOrChat& b);

/// One preference example; implicit-prompt rows already have their prompt extracted.
struct PreferenceRow {
  TextOrChat prompt;                       ///< may be empty text, or no messages (no prompt)
  TextOrChat chosen;                       ///< the preferred completion (same kind as prompt)
  TextOrChat rejected;                     ///< the dispreferred completion (same kind as prompt)
  /// Per-row template arguments (an object), keys in the file's order as Python keeps them.
  nlohmann::ordered_json chat_template_kwargs = nlohmann::ordered_json::object();
  /// The row's `tools` column (a list of tool definitions, keys in the file's order; a JSON string holding
  /// the list is parsed), passed to the chat template as `tools`; null when the row has none.
  nlohmann::ordered_json tools;
  std::optional<double> ref_chosen_logps;    ///< the row's `ref_chosen_logps` column (precomputed), if any
  std::optional<double> ref_rejected_logps;  ///< the row's `ref_rejected_logps` column, present with the above
  std::string source;                      ///< "file:line", for messages
};

/// One prompt-only example (GRPO/GFPO); other columns are handed to reward functions.
struct PromptRow {
  TextOrChat prompt;                       ///< the prompt (a non-empty message list when conversational)
  nlohmann::json columns = nlohmann::json::object();  ///< every other column of the row, as read
  std::string source;                      ///< "file:line"
};

/// A JSON object with where it came from.
struct JsonRow {
  nlohmann::json value;  ///< the row (always an object)
  int64_t line = 0;      ///< 1-based line of the file where the row starts (JSONL: its line)
  /// The same row with its object keys in file order (nlohmann::json sorts them); for values whose key
  /// order a chat template can see (tools, chat_template_kwargs).
  nlohmann::ordered_json ordered;
};

/// Reads rows, chosen by extension (case-insensitive): `.jsonl` has one object per line (blank lines
/// skipped, CRLF and a UTF-8 BOM accepted); `.json` holds an array of objects, or {"train": [...]}.
/// Throws DataError "file:line: what" for a missing or unreadable file, another extension, bad JSON (with
/// the parser's column), a row that is not an object (naming its type) or a file without rows.
std::vector<JsonRow> read_json_rows(const std::string& path);

/// A preference example split into prompt and completions by extract_prompt.
struct PromptSplit {
  TextOrChat prompt;    ///< the shared prefix
  TextOrChat chosen;    ///< chosen without the prefix
  TextOrChat rejected;  ///< rejected without the prefix
};

/// TRL's extract_prompt (spec §1.2): the prompt is the longest common prefix of chosen and rejected,
/// in Unicode characters for strings (when the character just before the first difference is a space,
/// the space goes to the completions) and in whole messages for conversations. As in TRL, when one is a
/// prefix of the other the prompt stops one element short, so neither completion is ever empty.
/// Both must be the same kind and non-empty; throws DataError(`where`) otherwise.
PromptSplit extract_prompt(const TextOrChat& chosen, const TextOrChat& rejected, const std::string& where = "");

/// Loads preference rows: {prompt, chosen, rejected} (explicit) or {chosen, rejected} (implicit, the
/// prompt extracted by extract_prompt), judged from the first row; every row must then agree. Standard
/// vs conversational is judged from the first row's `chosen` (a list whose first element is an object
/// with "role", as TRL's is_conversational); prompt, chosen and rejected of every row must be that kind.
/// Messages must be {role, content} strings with role system, user, assistant or tool. Optional columns:
/// chat_template_kwargs (an object), tools (a list, or a JSON string of one; spec §1.2), both in the file's
/// key order and passed to the chat template, ref_chosen_logps + ref_rejected_logps (numbers, on every row
/// or on none). An image column is refused (not supported); other columns are ignored. A null value
/// counts as a missing column, as in a Hugging Face dataset.
std::vector<PreferenceRow> load_preference_dataset(const std::string& path);

/// Loads prompt-only rows: {prompt, ...}; the prompt is a string or a non-empty message list, the same
/// kind on every row (judged from the first); every other column is kept in PromptRow::columns.
std::vector<PromptRow> load_prompt_dataset(const std::string& path);

}  // namespace trl
