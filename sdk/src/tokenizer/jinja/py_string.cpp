// Python's str operations on UTF-8 text (py_string.h).
#include "tokenizer/jinja/py_string.h"

#include <algorithm>

#include <unicode/locid.h>
#include <unicode/unistr.h>

#include "tokenizer/jinja/error.h"
#include "tokenizer/utf8.h"

namespace trl::tokenizer::jinja {

std::u32string to_code_points(const std::string& text) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const unsigned char lead = static_cast<unsigned char>(text[i]);
    const size_t n = utf8_length(lead);
    bool well_formed = n > 1 && i + n <= text.size();
    for (size_t k = 1; well_formed && k < n; ++k) well_formed = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
    if (n == 1 || !well_formed) {
      out += static_cast<char32_t>(lead);
      ++i;
    } else {
      size_t pos = i;
      out += next_code_point(text, pos);
      i = pos;
    }
  }
  return out;
}

std::string from_code_points(const std::u32string& code_points) {
  std::string out;
  out.reserve(code_points.size());
  for (char32_t c : code_points) append_utf8(out, c);
  return out;
}

bool is_python_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

int64_t py_len(const std::string& text) {
  int64_t n = 0;
  for (const char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

std::string py_strip(const std::string& text, const std::optional<std::string>& chars, bool left, bool right) {
  const std::u32string cps = to_code_points(text);
  const std::u32string set = chars ? to_code_points(*chars) : std::u32string();
  auto strip_it = [&](char32_t c) { return chars ? set.find(c) != std::u32string::npos : is_python_space(c); };
  size_t begin = 0;
  size_t end = cps.size();
  if (left) {
    while (begin < end && strip_it(cps[begin])) ++begin;
  }
  if (right) {
    while (end > begin && strip_it(cps[end - 1])) --end;
  }
  return from_code_points(cps.substr(begin, end - begin));
}

std::vector<std::string> py_split(const std::string& text, const std::optional<std::string>& sep, int64_t maxsplit) {
  std::vector<std::string> parts;
  if (sep) {
    if (sep->empty()) throw TemplateRuntimeError({}, "empty separator");
    size_t start = 0;
    while (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) {
      const size_t found = text.find(*sep, start);
      if (found == std::string::npos) break;
      parts.push_back(text.substr(start, found - start));
      start = found + sep->size();
    }
    parts.push_back(text.substr(start));
    return parts;
  }
  // No separator: runs of whitespace split, and leading/trailing whitespace yields no empty strings.
  const std::u32string cps = to_code_points(text);
  size_t i = 0;
  while (true) {
    while (i < cps.size() && is_python_space(cps[i])) ++i;
    if (i >= cps.size()) break;
    if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit) {
      size_t end = cps.size();
      while (end > i && is_python_space(cps[end - 1])) --end;
      parts.push_back(from_code_points(cps.substr(i, end - i)));
      break;
    }
    const size_t start = i;
    while (i < cps.size() && !is_python_space(cps[i])) ++i;
    parts.push_back(from_code_points(cps.substr(start, i - start)));
  }
  return parts;
}

std::string py_replace(const std::string& text, const std::string& old_text, const std::string& new_text, int64_t count) {
  if (old_text.empty()) {
    // Python inserts `new` before every code point and at the end.
    const std::u32string cps = to_code_points(text);
    std::string out;
    int64_t done = 0;
    for (char32_t c : cps) {
      if (count < 0 || done < count) {
        out += new_text;
        ++done;
      }
      append_utf8(out, c);
    }
    if (count < 0 || done < count) out += new_text;
    return out;
  }
  std::string out;
  size_t start = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    const size_t found = text.find(old_text, start);
    if (found == std::string::npos) break;
    out += text.substr(start, found - start) + new_text;
    start = found + old_text.size();
    ++done;
  }
  return out + text.substr(start);
}

namespace {

std::string icu_case(const std::string& text, bool upper) {
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(text);
  if (upper) u.toUpper(icu::Locale::getRoot());
  else u.toLower(icu::Locale::getRoot());
  std::string out;
  u.toUTF8String(out);
  return out;
}

bool is_cased_letter(char32_t c) {
  const std::string s = from_code_points(std::u32string(1, c));
  return icu_case(s, true) != s || icu_case(s, false) != s;
}

}  // namespace

std::string py_upper(const std::string& text) { return icu_case(text, true); }
std::string py_lower(const std::string& text) { return icu_case(text, false); }

std::string py_title(const std::string& text) {
  // Python: a cased character after an uncased one starts a word (upper), the rest go lower.
  std::string out;
  bool previous_cased = false;
  for (char32_t c : to_code_points(text)) {
    const std::string s = from_code_points(std::u32string(1, c));
    const bool cased = is_cased_letter(c);
    out += cased ? (previous_cased ? icu_case(s, false) : icu_case(s, true)) : s;
    previous_cased = cased;
  }
  return out;
}

std::string py_capitalize(const std::string& text) {
  const std::u32string cps = to_code_points(text);
  if (cps.empty()) return "";
  return icu_case(from_code_points(cps.substr(0, 1)), true) + icu_case(from_code_points(cps.substr(1)), false);
}

std::vector<int64_t> slice_indices(int64_t length, std::optional<int64_t> start, std::optional<int64_t> stop,
                                   std::optional<int64_t> step) {
  const int64_t s = step.value_or(1);
  if (s == 0) throw TemplateRuntimeError({}, "slice step cannot be zero");
  // CPython's PySlice_AdjustIndices.
  auto adjust = [&](std::optional<int64_t> bound, int64_t if_absent) {
    if (!bound) return if_absent;
    int64_t b = *bound;
    if (b < 0) {
      b += length;
      if (b < 0) b = s < 0 ? -1 : 0;
    } else if (b >= length) {
      b = s < 0 ? length - 1 : length;
    }
    return b;
  };
  const int64_t begin = adjust(start, s < 0 ? length - 1 : 0);
  const int64_t end = adjust(stop, s < 0 ? -1 : length);
  std::vector<int64_t> out;
  if (s > 0) {
    for (int64_t i = begin; i < end; i += s) out.push_back(i);
  } else {
    for (int64_t i = begin; i > end; i += s) out.push_back(i);
  }
  return out;
}

}  // namespace trl::tokenizer::jinja
