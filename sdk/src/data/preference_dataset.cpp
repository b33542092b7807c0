// Loading preference rows (trl/sdk/data/dataset.h: load_preference_dataset), spec §1.2.
//
// TRL decides from the first example whether prompts are explicit ("prompt" in it) and whether the data
// is conversational, then maps over every row. A Hugging Face dataset has the same columns on every row,
// so a JSONL row that disagrees with the first would have crashed or been silently misread there; here it
// is a file:line error before training starts.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "text_field.h"
#include "trl/sdk/data/dataset.h"
#include "trl/sdk/error.h"

namespace trl {
namespace {

using nlohmann::json;
using detail::has_column;
using detail::RowPlace;

void refuse_unsupported_columns(const json& row, const RowPlace& place) {
  for (const char* key : {"image", "images"})
    if (has_column(row, key))
      throw DataError(place.file, place.line,
                      std::string("column '") + key + "' is not supported (vision datasets are out of scope)");
}

// Both read from the row's ordered copy: a template sees these keys in the order the file gives them.
nlohmann::ordered_json read_chat_template_kwargs(const JsonRow& row, const RowPlace& place) {
  if (!has_column(row.value, "chat_template_kwargs")) return nlohmann::ordered_json::object();
  const nlohmann::ordered_json& kwargs = row.ordered.at("chat_template_kwargs");
  if (!kwargs.is_object())
    throw DataError(place.file, place.line,
                    std::string("'chat_template_kwargs' must be an object, got ") + kwargs.type_name());
  if (kwargs.contains("tools"))
    throw DataError(place.file, place.line,
                    "'chat_template_kwargs' holds 'tools': give tools in the row's 'tools' column (Python would "
                    "refuse the call: apply_chat_template got multiple values for keyword argument 'tools')");
  return kwargs;
}

// TRL's per-example `tools` (spec §1.2): a list of tool definitions, or a JSON string holding one.
nlohmann::ordered_json read_tools(const JsonRow& row, const RowPlace& place) {
  if (!has_column(row.value, "tools")) return nullptr;
  nlohmann::ordered_json tools = row.ordered.at("tools");
  if (tools.is_string()) {
    try {
      tools = nlohmann::ordered_json::parse(tools.get<std::string>());
    } catch (const nlohmann::json::exception& e) {
      throw DataError(place.file, place.line, std::string("'tools' is a string but not JSON: ") + e.what());
    }
  }
  if (!tools.is_array())
    throw DataError(place.file, place.line,
                    std::string("'tools' must be a list of tool definitions (or a JSON string of one), got ") +
                        tools.type_name());
  return tools;
}

std::optional<double> read_ref_logp(const json& row, const std::string& key, bool expected, int64_t first_line,
                                    const RowPlace& place) {
  const bool present = has_column(row, key);
  if (present != expected)
    throw DataError(place.file, place.line,
                    (present ? "unexpected column '" + key + "': the first row (line " + std::to_string(first_line) +
                                   ") has no reference log-probs"
                             : "missing column '" + key + "' (the first row, line " + std::to_string(first_line) +
                                   ", has reference log-probs; give them on every row or on none)"));
  if (!present) return std::nullopt;
  const json& value = row[key];
  if (!value.is_number())
    throw DataError(place.file, place.line, "'" + key + "' must be a number, got " + value.type_name());
  return value.get<double>();
}

}  // namespace

std::vector<PreferenceRow> load_preference_dataset(const std::string& path) {
  const std::vector<JsonRow> rows = read_json_rows(path);

  // The first row decides the format, as TRL's _prepare_dataset does.
  const json& first = rows.front().value;
  const int64_t first_line = rows.front().line;
  const RowPlace first_place{path, first_line};
  detail::require_column(first, "chosen", first_place);
  detail::require_column(first, "rejected", first_place);
  const bool explicit_prompt = has_column(first, "prompt");
  const bool is_chat = detail::judge_is_chat(first["chosen"], "chosen", first_place);
  const bool has_ref_logps = has_column(first, "ref_chosen_logps") || has_column(first, "ref_rejected_logps");
  const std::string first_ref = "(line " + std::to_string(first_line) + ")";

  std::vector<PreferenceRow> out;
  out.reserve(rows.size());
  for (const JsonRow& json_row : rows) {
    const json& row = json_row.value;
    const RowPlace place{path, json_row.line};
    refuse_unsupported_columns(row, place);
    detail::require_column(row, "chosen", place);
    detail::require_column(row, "rejected", place);

    PreferenceRow pref;
    pref.source = path + ":" + std::to_string(json_row.line);
    const TextOrChat chosen = detail::parse_text_field(row["chosen"], "chosen", is_chat, false, place);
    const TextOrChat rejected = detail::parse_text_field(row["rejected"], "rejected", is_chat, false, place);
    if (explicit_prompt) {
      detail::require_column(row, "prompt", place,
                             " (the first row " + first_ref + " has one, so every row needs an explicit prompt)");
      pref.prompt = detail::parse_text_field(row["prompt"], "prompt", is_chat, true, place);
      pref.chosen = chosen;
      pref.rejected = rejected;
    } else {
      if (has_column(row, "prompt"))
        throw DataError(path, json_row.line,
                        "unexpected column 'prompt': the first row " + first_ref +
                            " has none, so every prompt is extracted from chosen and rejected (implicit-prompt "
                            "format); give a prompt on every row or on none");
      PromptSplit split = extract_prompt(chosen, rejected, pref.source);
      pref.prompt = std::move(split.prompt);
      pref.chosen = std::move(split.chosen);
      pref.rejected = std::move(split.rejected);
    }
    pref.chat_template_kwargs = read_chat_template_kwargs(json_row, place);
    pref.tools = read_tools(json_row, place);
    pref.ref_chosen_logps = read_ref_logp(row, "ref_chosen_logps", has_ref_logps, first_line, place);
    pref.ref_rejected_logps = read_ref_logp(row, "ref_rejected_logps", has_ref_logps, first_line, place);
    out.push_back(std::move(pref));
  }
  return out;
}

}  // namespace trl
