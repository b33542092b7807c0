// TRL's extract_prompt (trl/data_utils.py), for implicit-prompt preference rows (spec §1.2).
//
// TRL walks both sequences to the first difference at index idx and splits there, handing a space just
// before idx to the completions. Two details of its Python loop are kept on purpose:
// - when no difference is found (one is a prefix of the other), the loop variable is left at min_len - 1,
//   so the prompt stops one element short and both completions keep at least one element;
// - strings are compared in Unicode characters (Python str), not bytes.
// One is not: at idx == 0 Python's chosen[-1] reads the LAST character, so a chosen string ending in a
// space made TRL split at -1 (prompt = all of chosen but its last character). That is a bug; here a
// difference at the first character simply gives an empty prompt.
#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "trl/sdk/data/dataset.h"
#include "trl/sdk/error.h"

namespace trl {
namespace {

// Byte offset of every code point start in valid UTF-8 (nlohmann validates strings), then s.size().
std::vector<size_t> code_point_starts(const std::string& s) {
  std::vector<size_t> starts;
  for (size_t i = 0; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) starts.push_back(i);
  starts.push_back(s.size());
  return starts;
}

PromptSplit split_text(const std::string& chosen, const std::string& rejected) {
  const std::vector<size_t> c = code_point_starts(chosen);
  const std::vector<size_t> r = code_point_starts(rejected);
  const size_t n = std::min(c.size(), r.size()) - 1;  // characters in the shorter string
  auto char_at = [](const std::string& s, const std::vector<size_t>& starts, size_t k) {
    return s.substr(starts[k], starts[k + 1] - starts[k]);
  };
  size_t idx = n - 1;  // TRL's value when no difference is found
  for (size_t k = 0; k < n; ++k) {
    if (char_at(chosen, c, k) != char_at(rejected, r, k)) {
      idx = (k > 0 && char_at(chosen, c, k - 1) == " ") ? k - 1 : k;
      break;
    }
  }
  // Up to idx both strings agree character for character, so the byte offsets agree too.
  return PromptSplit{TextOrChat::of_text(chosen.substr(0, c[idx])), TextOrChat::of_text(chosen.substr(c[idx])),
                     TextOrChat::of_text(rejected.substr(r[idx]))};
}

PromptSplit split_chat(const std::vector<Message>& chosen, const std::vector<Message>& rejected) {
  const size_t n = std::min(chosen.size(), rejected.size());
  size_t idx = n - 1;  // TRL's value when no difference is found
  for (size_t k = 0; k < n; ++k) {
    if (chosen[k].role != rejected[k].role || chosen[k].content != rejected[k].content) {
      idx = k;  // a message never equals " ", so TRL's space rule never applies to conversations
      break;
    }
  }
  using Messages = std::vector<Message>;
  return PromptSplit{TextOrChat::of_chat(Messages(chosen.begin(), chosen.begin() + static_cast<std::ptrdiff_t>(idx))),
                     TextOrChat::of_chat(Messages(chosen.begin() + static_cast<std::ptrdiff_t>(idx), chosen.end())),
                     TextOrChat::of_chat(Messages(rejected.begin() + static_cast<std::ptrdiff_t>(idx), rejected.end()))};
}

// Splits "file:line" back into its parts for DataError; a source without a line keeps line 0.
DataError extraction_error(const std::string& where, const std::string& what) {
  const size_t colon = where.rfind(':');
  if (colon != std::string::npos && colon + 1 < where.size() &&
      where.find_first_not_of("0123456789", colon + 1) == std::string::npos)
    return DataError(where.substr(0, colon), std::stoll(where.substr(colon + 1)), what);
  return DataError(where.empty() ? std::string("extract_prompt") : where, 0, what);
}

}  // namespace

PromptSplit extract_prompt(const TextOrChat& chosen, const TextOrChat& rejected, const std::string& where) {
  if (chosen.is_chat != rejected.is_chat)
    throw extraction_error(where, "cannot extract the prompt: 'chosen' and 'rejected' are of different kinds");
  const bool chosen_empty = chosen.is_chat ? chosen.messages.empty() : chosen.text.empty();
  const bool rejected_empty = rejected.is_chat ? rejected.messages.empty() : rejected.text.empty();
  if (chosen_empty || rejected_empty)
    throw extraction_error(where, std::string("cannot extract the prompt: '") + (chosen_empty ? "chosen" : "rejected") +
                                      "' is empty");
  return chosen.is_chat ? split_chat(chosen.messages, rejected.messages) : split_text(chosen.text, rejected.text);
}

}  // namespace trl
