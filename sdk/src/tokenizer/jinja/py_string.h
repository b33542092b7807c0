// Python's str operations on UTF-8 text, counted in code points as Python counts them: len, indexing,
// slicing, strip/lstrip/rstrip, split, upper/lower, replace, title/capitalize.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace trl::tokenizer::jinja {

/// The code points of `text` (a byte that is not well-formed UTF-8 counts as one code point).
std::u32string to_code_points(const std::string& text);
/// UTF-8 of `code_points`.
std::string from_code_points(const std::u32string& code_points);
/// Python's str.isspace() for one code point.
bool is_python_space(char32_t c);

/// len(text).
int64_t py_len(const std::string& text);
/// text.strip(chars) / lstrip / rstrip; `chars` absent = whitespace.
std::string py_strip(const std::string& text, const std::optional<std::string>& chars, bool left, bool right);
/// text.split(sep, maxsplit); `sep` absent = runs of whitespace; maxsplit < 0 = no limit. Throws
/// TemplateRuntimeError for an empty separator.
std::vector<std::string> py_split(const std::string& text, const std::optional<std::string>& sep, int64_t maxsplit);
/// text.replace(old, new, count); count < 0 = all.
std::string py_replace(const std::string& text, const std::string& old_text, const std::string& new_text, int64_t count);
/// text.upper() / text.lower() (full Unicode case mapping).
std::string py_upper(const std::string& text);
std::string py_lower(const std::string& text);
/// text.title() and text.capitalize().
std::string py_title(const std::string& text);
std::string py_capitalize(const std::string& text);

/// Python's slice indices for a sequence of `length` items: the positions selected by [start:stop:step]
/// (absent bounds as in Python). Throws TemplateRuntimeError for step 0.
std::vector<int64_t> slice_indices(int64_t length, std::optional<int64_t> start, std::optional<int64_t> stop,
                                   std::optional<int64_t> step);

}  // namespace trl::tokenizer::jinja
