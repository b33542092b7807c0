// The `keyword` reward (keyword_reward.h).
#include "keyword_reward.h"

#include <cctype>

#include <trl/sdk/error.h>

namespace my_plugin {
namespace {

char fold(char c, bool case_sensitive) {
  return case_sensitive ? c : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

bool is_word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

// The keywords of row `i` from `column`: a string (one keyword) or a list of strings; nullopt if absent.
std::optional<std::vector<std::string>> column_keywords(const trl::RewardInput& input, size_t i,
                                                        const std::string& column) {
  if (i >= input.columns.size() || !input.columns[i].is_object()) return std::nullopt;
  const auto it = input.columns[i].find(column);
  if (it == input.columns[i].end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return std::vector<std::string>{it->get<std::string>()};
  std::vector<std::string> out;
  if (it->is_array()) {
    for (const nlohmann::json& v : *it) {
      if (!v.is_string()) break;
      out.push_back(v.get<std::string>());
    }
    if (out.size() == it->size()) return out;
  }
  // Bad data, not a bug in this plugin: a DataError keeps the exit code "fix your input" (1), not 3.
  throw trl::DataError("dataset column '" + column + "'", 0,
                       "row of completion " + std::to_string(i) + ": expected a string or a list of strings, got " +
                           it->dump());
}

}  // namespace

trl::ParamTable keyword_reward_params() {
  trl::ParamTable t;
  t.add("keywords", trl::ParamType::string_list, nlohmann::json::array(),
        "keywords to look for (used when `column` is null)")
      .accept_single();
  t.add("column", trl::ParamType::string, nullptr,
        "dataset column holding each row's keywords (a string or a list of strings); rows without it score None");
  t.add("mode", trl::ParamType::string, "fraction",
        "fraction: share of keywords found; any: 1 if one is found; all: 1 if every one is found")
      .one_of({"fraction", "any", "all"});
  t.add("case_sensitive", trl::ParamType::boolean, false, "compare letters case-sensitively (ASCII)");
  t.add("whole_word", trl::ParamType::boolean, false,
        "a keyword must not be part of a longer word (no letter, digit or _ on either side)");
  return t;
}

KeywordReward::KeywordReward(const trl::Args& args)
    : keywords_(args.strings("keywords")),
      column_(args.optional_string("column")),
      mode_(args.string("mode")),
      case_sensitive_(args.boolean("case_sensitive")),
      whole_word_(args.boolean("whole_word")) {
  if (column_ && !keywords_.empty()) args.fail("keywords", "give either keywords or a column, not both");
  if (!column_ && keywords_.empty()) args.fail("keywords", "expected at least one keyword (or set `column`)");
  for (const std::string& k : keywords_)
    if (k.empty()) args.fail("keywords", "an empty keyword would match every completion");
}

bool contains_keyword(const std::string& text, const std::string& word, bool case_sensitive, bool whole_word) {
  if (word.empty() || word.size() > text.size()) return false;
  for (size_t start = 0; start + word.size() <= text.size(); ++start) {
    size_t k = 0;
    while (k < word.size() && fold(text[start + k], case_sensitive) == fold(word[k], case_sensitive)) ++k;
    if (k < word.size()) continue;
    if (!whole_word) return true;
    const bool left_ok = start == 0 || !is_word_char(text[start - 1]);
    const size_t end = start + word.size();
    const bool right_ok = end == text.size() || !is_word_char(text[end]);
    if (left_ok && right_ok) return true;
  }
  return false;
}

double KeywordReward::score_text(const std::string& completion, const std::vector<std::string>& keywords) const {
  if (keywords.empty()) return 0.0;
  size_t found = 0;
  for (const std::string& k : keywords) found += contains_keyword(completion, k, case_sensitive_, whole_word_) ? 1 : 0;
  if (mode_ == "any") return found > 0 ? 1.0 : 0.0;
  if (mode_ == "all") return found == keywords.size() ? 1.0 : 0.0;
  return static_cast<double>(found) / static_cast<double>(keywords.size());
}

std::vector<std::optional<double>> KeywordReward::score(const trl::RewardInput& input) {
  std::vector<std::optional<double>> out(input.completions.size());
  for (size_t i = 0; i < input.completions.size(); ++i) {
    if (!column_) {
      out[i] = score_text(input.completions[i], keywords_);
      continue;
    }
    const std::optional<std::vector<std::string>> keywords = column_keywords(input, i, *column_);
    if (keywords) out[i] = score_text(input.completions[i], *keywords);
  }
  return out;
}

}  // namespace my_plugin
