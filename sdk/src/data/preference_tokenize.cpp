// DPO tokenization of preference rows (trl/sdk/data/preference.h), TRL HEAD's _prepare_dataset (spec §1.3).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <ATen/Parallel.h>

#include "trl/sdk/data/preference.h"
#include "trl/sdk/error.h"
#include "trl/sdk/log.h"
#include "trl/sdk/tokenizer/tokenizer.h"

namespace trl {
namespace {

// One row's tokenization plus what the summary log lines need.
struct RowResult {
  TokenizedPair pair;
  bool prompt_is_prefix = true;  // of both prompt+chosen and prompt+rejected
};

void check_limit(const std::optional<int64_t>& value, const char* key) {
  if (value && *value < 1)
    throw ConfigError(std::string(key) + ": expected an integer >= 1 or null, got " + std::to_string(*value));
}

std::string file_of(const std::string& source) {
  const size_t colon = source.rfind(':');
  return colon == std::string::npos ? source : source.substr(0, colon);
}

// TRL's common_prefix_length: how many leading ids `a` and `b` share.
size_t common_prefix_length(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  const size_t n = std::min(a.size(), b.size());
  return static_cast<size_t>(std::mismatch(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(n), b.begin()).first -
                             a.begin());
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The messages as the chat template sees them, [{role, content}, ...], `a` then `b`.
nlohmann::ordered_json chat(const std::vector<Message>& a, const std::vector<Message>& b = {}) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const std::vector<Message>* part : {&a, &b})
    for (const Message& m : *part) out.push_back({{"role", m.role}, {"content", m.content}});
  return out;
}

// TRL: apply_chat_template(messages, tools=example.get("tools"), **example.get("chat_template_kwargs", {})).
// Ordered JSON throughout, so tools | tojson prints each tool's keys in the dataset's order as Python does.
nlohmann::ordered_json template_kwargs(const PreferenceRow& row) {
  nlohmann::ordered_json kwargs = row.chat_template_kwargs;
  if (!row.tools.is_null()) kwargs["tools"] = row.tools;
  return kwargs;
}

// The prompt as messages: a conversational row may leave its prompt as empty standard text (no prompt).
const std::vector<Message>& prompt_messages(const PreferenceRow& row) {
  static const std::vector<Message> kNone;
  if (row.prompt.is_chat) return row.prompt.messages;
  if (!row.prompt.text.empty())
    throw DataError(row.source, 0, "the prompt is a string but chosen is a conversation; all must be the same kind");
  return kNone;
}

RowResult tokenize_row(const PreferenceRow& row, const Tokenizer& tokenizer, const std::string& eos_text) {
  if (row.chosen.is_chat != row.rejected.is_chat)
    throw DataError(row.source, 0, "'chosen' and 'rejected' are of different kinds (string vs conversation)");
  RowResult out;
  std::vector<int64_t> prompt_chosen_ids, prompt_rejected_ids;
  if (row.chosen.is_chat) {
    // §1.3 item 3: the template supplies BOS and end-of-turn tokens, so the text is encoded without special
    // tokens (HF's apply_chat_template(tokenize=True) passes add_special_tokens=False).
    const std::vector<Message>& prompt = prompt_messages(row);
    const nlohmann::ordered_json kwargs = template_kwargs(row);
    out.pair.prompt_ids = tokenizer.encode(tokenizer.apply_chat_template_json(chat(prompt), true, kwargs), false);
    prompt_chosen_ids = tokenizer.encode(
        tokenizer.apply_chat_template_json(chat(prompt, row.chosen.messages), false, kwargs), false);
    prompt_rejected_ids = tokenizer.encode(
        tokenizer.apply_chat_template_json(chat(prompt, row.rejected.messages), false, kwargs), false);
  } else {
    if (row.prompt.is_chat)
      throw DataError(row.source, 0, "the prompt is a conversation but chosen is a string; all must be the same kind");
    // §1.3 items 1-2: EOS text appended unless present, then whole strings with default special tokens.
    const std::string chosen = ends_with(row.chosen.text, eos_text) ? row.chosen.text : row.chosen.text + eos_text;
    const std::string rejected =
        ends_with(row.rejected.text, eos_text) ? row.rejected.text : row.rejected.text + eos_text;
    out.pair.prompt_ids = tokenizer.encode(row.prompt.text, true);
    prompt_chosen_ids = tokenizer.encode(row.prompt.text + chosen, true);
    prompt_rejected_ids = tokenizer.encode(row.prompt.text + rejected, true);
  }
  // §1.3 item 4 as TRL 1.16 does it (docs/parity.md): the completion starts where the tokenized prompt and
  // prompt+completion diverge, min over chosen and rejected; the prompt keeps only that common prefix. (TRL
  // 1.10.0.dev0, the spec's, cut after len(prompt_ids) tokens, so tokens merged across the boundary were lost.)
  const size_t prompt_len = std::min(common_prefix_length(out.pair.prompt_ids, prompt_chosen_ids),
                                     common_prefix_length(out.pair.prompt_ids, prompt_rejected_ids));
  out.prompt_is_prefix = prompt_len == out.pair.prompt_ids.size();
  const auto tail = [&](const std::vector<int64_t>& ids) {
    return std::vector<int64_t>(ids.begin() + static_cast<std::ptrdiff_t>(prompt_len), ids.end());
  };
  out.pair.prompt_ids.resize(prompt_len);
  out.pair.chosen_ids = tail(prompt_chosen_ids);
  out.pair.rejected_ids = tail(prompt_rejected_ids);
  out.pair.ref_chosen_logps = row.ref_chosen_logps;
  out.pair.ref_rejected_logps = row.ref_rejected_logps;
  out.pair.source = row.source;
  return out;
}

// Legacy DPOConfig cuts (spec §1.9): prompt_ids[-max_prompt_length:], completion_ids[:max_completion_length].
void apply_legacy_limits(TokenizedPair& pair, const PreferenceTokenizeOptions& options) {
  if (options.max_prompt_length && static_cast<int64_t>(pair.prompt_ids.size()) > *options.max_prompt_length)
    pair.prompt_ids.erase(pair.prompt_ids.begin(), pair.prompt_ids.end() - *options.max_prompt_length);
  if (options.max_completion_length) {
    for (std::vector<int64_t>* ids : {&pair.chosen_ids, &pair.rejected_ids})
      if (static_cast<int64_t>(ids->size()) > *options.max_completion_length)
        ids->resize(static_cast<size_t>(*options.max_completion_length));
  }
}

}  // namespace

TruncationMode parse_truncation_mode(const std::string& text, const std::string& key) {
  if (text == "keep_start") return TruncationMode::keep_start;
  if (text == "keep_end") return TruncationMode::keep_end;
  throw ConfigError(key + ": expected \"keep_start\" or \"keep_end\", got \"" + text + "\"");
}

const char* truncation_mode_name(TruncationMode mode) {
  return mode == TruncationMode::keep_start ? "keep_start" : "keep_end";
}

std::vector<TokenizedPair> tokenize_preferences(const std::vector<PreferenceRow>& rows, const Tokenizer& tokenizer,
                                                const PreferenceTokenizeOptions& options, int64_t* dropped) {
  check_limit(options.max_length, "max_length");
  check_limit(options.max_prompt_length, "max_prompt_length");
  check_limit(options.max_completion_length, "max_completion_length");
  if (dropped) *dropped = 0;
  if (rows.empty()) return {};

  bool any_standard = false;
  for (const PreferenceRow& row : rows) any_standard = any_standard || !row.chosen.is_chat;
  std::string eos_text;
  if (any_standard) {
    if (!tokenizer.eos_token_id())
      throw ModelError("tokenizer", "has no EOS token, which standard (non-conversational) preference data needs: "
                                    "TRL appends it to chosen and rejected (spec §1.3)");
    eos_text = tokenizer.eos_token();
  }

  // Rows are independent and the tokenizer is thread-safe; at::parallel_for rethrows a row's exception.
  std::vector<RowResult> results(rows.size());
  at::parallel_for(0, static_cast<int64_t>(rows.size()), 32, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      results[i] = tokenize_row(rows[i], tokenizer, eos_text);
      apply_legacy_limits(results[i].pair, options);
    }
  });

  int64_t not_prefix = 0;
  const RowResult* first_not_prefix = nullptr;
  for (const RowResult& r : results) {
    if (r.prompt_is_prefix) continue;
    if (not_prefix++ == 0) first_not_prefix = &r;
  }
  if (not_prefix > 0)
    log::warn(std::to_string(not_prefix) + " of " + std::to_string(rows.size()) +
              " preference pairs: the tokenized prompt is not a prefix of the tokenized prompt+completion (first at " +
              first_not_prefix->pair.source +
              "); their completions start where the two diverge and that end of the prompt is left out, as TRL 1.16 "
              "does. Tokens merging across the prompt/completion boundary, whitespace or special tokens usually "
              "cause this.");

  // §1.3 item 5: under keep_start the collator would cut every completion token of such a pair.
  const bool drop_long_prompts = options.max_length && options.truncation_mode == TruncationMode::keep_start;
  std::vector<TokenizedPair> out;
  out.reserve(rows.size());
  int64_t num_dropped = 0;
  std::string first_dropped;
  for (RowResult& r : results) {
    if (drop_long_prompts && static_cast<int64_t>(r.pair.prompt_ids.size()) >= *options.max_length) {
      if (num_dropped++ == 0) first_dropped = r.pair.source;
      continue;
    }
    out.push_back(std::move(r.pair));
  }
  if (dropped) *dropped = num_dropped;
  if (num_dropped > 0) {
    const std::string why = "prompt alone has >= max_length (" + std::to_string(*options.max_length) +
                            ") tokens, so keep_start truncation would leave no completion token (first: " +
                            first_dropped + ")";
    if (out.empty())
      throw DataError(file_of(rows.front().source), 0,
                      "all " + std::to_string(rows.size()) + " preference pairs were dropped: every " + why +
                          "; raise max_length or shorten the prompts");
    log::info("dropped " + std::to_string(num_dropped) + " of " + std::to_string(rows.size()) +
              " preference pairs whose " + why);
  }
  return out;
}

}  // namespace trl
