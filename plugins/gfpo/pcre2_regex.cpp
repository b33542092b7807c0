// A RAII wrapper over a compiled PCRE2 (8-bit) pattern.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "pcre2_regex.h"

#include <pcre2.h>

#include "trl/sdk/error.h"

namespace trl::gfpo {

namespace {

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  int n = pcre2_get_error_message(code, buffer, sizeof buffer);
  return n < 0 ? "PCRE2 error " + std::to_string(code) : std::string(reinterpret_cast<const char*>(buffer));
}

struct MatchDataDeleter {
  void operator()(pcre2_match_data* data) const { pcre2_match_data_free(data); }
};
using MatchData = std::unique_ptr<pcre2_match_data, MatchDataDeleter>;

}  // namespace

std::optional<MatchMode> parse_match_mode(const std::string& text) {
  if (text == "search") return MatchMode::search;
  if (text == "match") return MatchMode::match;
  if (text == "full") return MatchMode::full;
  return std::nullopt;
}

struct Regex::Code {
  struct Deleter {
    void operator()(pcre2_code* code) const { pcre2_code_free(code); }
  };
  std::unique_ptr<pcre2_code, Deleter> code;
};

Regex::Regex(const std::string& pattern, RegexFlags flags, const std::string& where, const std::string& key)
    : pattern_(pattern), code_(std::make_unique<Code>()) {
  // Completions are decoded model output and may hold invalid UTF-8 (a byte tokenizer can stop mid
  // character): MATCH_INVALID_UTF matches around it instead of failing.
  uint32_t options = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
  if (flags.dotall) options |= PCRE2_DOTALL;
  if (flags.multiline) options |= PCRE2_MULTILINE;
  if (flags.ignore_case) options |= PCRE2_CASELESS;
  int error = 0;
  PCRE2_SIZE offset = 0;
  code_->code.reset(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options, &error,
                                  &offset, nullptr));
  if (!code_->code)
    throw ConfigError(where, key,
                      "invalid regular expression at offset " + std::to_string(offset) + ": " + pcre2_message(error) +
                          " (pattern: " + pattern + ")");
}

Regex::~Regex() = default;
Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;

bool Regex::matches(const std::string& text, MatchMode mode) const {
  MatchData data(pcre2_match_data_create_from_pattern(code_->code.get(), nullptr));
  uint32_t options = 0;
  if (mode != MatchMode::search) options |= PCRE2_ANCHORED;
  if (mode == MatchMode::full) options |= PCRE2_ENDANCHORED;
  int rc = pcre2_match(code_->code.get(), reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), 0, options,
                       data.get(), nullptr);
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  if (rc < 0) throw Error("regular expression /" + pattern_ + "/: matching failed: " + pcre2_message(rc));
  return true;
}

std::optional<std::string> Regex::last_capture(const std::string& text, int group) const {
  TRL_INTERNAL_ASSERT(group >= 0 && group <= capture_count(), "capture group out of range");
  MatchData data(pcre2_match_data_create_from_pattern(code_->code.get(), nullptr));
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  std::optional<std::string> last;
  PCRE2_SIZE start = 0;
  uint32_t options = 0;
  while (start <= text.size()) {
    int rc = pcre2_match(code_->code.get(), subject, text.size(), start, options, data.get(), nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) {
      if (options == 0) break;
      // An empty match was refused at `start`: step over one character and search normally again.
      options = 0;
      ++start;
      while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) ++start;
      continue;
    }
    if (rc < 0) throw Error("regular expression /" + pattern_ + "/: matching failed: " + pcre2_message(rc));
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data.get());
    const PCRE2_SIZE begin = ovector[2 * group], end = ovector[2 * group + 1];
    if (begin != PCRE2_UNSET) last = text.substr(begin, end - begin);
    else last.reset();
    // As pcre2demo: after an empty match, retry at the same place requiring a non-empty one.
    options = ovector[0] == ovector[1] ? (PCRE2_NOTEMPTY_ATSTART | PCRE2_ANCHORED) : 0;
    start = ovector[1];
  }
  return last;
}

int Regex::group_number(const std::string& name) const {
  int n = pcre2_substring_number_from_name(code_->code.get(), reinterpret_cast<PCRE2_SPTR>(name.c_str()));
  return n < 0 ? -1 : n;
}

int Regex::capture_count() const {
  uint32_t count = 0;
  pcre2_pattern_info(code_->code.get(), PCRE2_INFO_CAPTURECOUNT, &count);
  return static_cast<int>(count);
}

}  // namespace trl::gfpo
