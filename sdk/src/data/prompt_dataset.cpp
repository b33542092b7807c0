// Loading prompt-only rows for GRPO/GFPO (trl/sdk/data/dataset.h: load_prompt_dataset).
//
// TRL's GRPO judges the format from the first prompt (is_conversational({"prompt": prompts[0]})) and
// hands every other column to the reward functions as keyword arguments; both are kept here.
#include <string>
#include <utility>
#include <vector>

#include "text_field.h"
#include "trl/sdk/data/dataset.h"
#include "trl/sdk/error.h"

namespace trl {

std::vector<PromptRow> load_prompt_dataset(const std::string& path) {
  const std::vector<JsonRow> rows = read_json_rows(path);
  const detail::RowPlace first_place{path, rows.front().line};
  detail::require_column(rows.front().value, "prompt", first_place);
  const bool is_chat = detail::judge_is_chat(rows.front().value["prompt"], "prompt", first_place);

  std::vector<PromptRow> out;
  out.reserve(rows.size());
  for (const JsonRow& json_row : rows) {
    const detail::RowPlace place{path, json_row.line};
    detail::require_column(json_row.value, "prompt", place);
    PromptRow row;
    // A conversation needs at least one message to generate a reply to.
    row.prompt = detail::parse_text_field(json_row.value["prompt"], "prompt", is_chat, false, place);
    row.columns = json_row.value;
    row.columns.erase("prompt");
    row.source = path + ":" + std::to_string(json_row.line);
    out.push_back(std::move(row));
  }
  return out;
}

}  // namespace trl
