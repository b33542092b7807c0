// Reading a dataset file into JSON object rows (trl/sdk/data/dataset.h: read_json_rows).
//
// Rows are parsed as nlohmann::ordered_json, so a row also keeps its keys in file order (JsonRow::ordered:
// Python's json.loads keeps them, and a chat template's `tools | tojson` prints them in that order).
// JSONL is parsed line by line so an error names its line. A JSON array is parsed whole by nlohmann,
// then a small scanner finds where each element starts, so row errors name the element's line too.
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "trl/sdk/data/dataset.h"
#include "trl/sdk/error.h"

namespace trl {
namespace {

using nlohmann::json;

std::string read_whole_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw DataError(path, 0, "no such file");
  if (!std::filesystem::is_regular_file(path, ec)) throw DataError(path, 0, "not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path, 0, "cannot open for reading");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw DataError(path, 0, "read failed");
  std::string out = text.str();
  if (out.rfind("\xEF\xBB\xBF", 0) == 0) out.erase(0, 3);  // UTF-8 BOM, as Python's utf-8-sig
  return out;
}

std::string lowercase_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext;
}

// nlohmann says "[json.exception.parse_error.101] parse error at line L, column C: what". We keep L and C
// and the part after them, so the message reads "file:line: invalid JSON at column C: what".
struct ParseFailure {
  int64_t line = 0;
  int64_t column = 0;
  std::string what;
};

ParseFailure describe_parse_error(const json::parse_error& e) {
  ParseFailure out;
  const std::string message = e.what();
  long long line = 0, column = 0;
  const size_t at = message.find("parse error at line ");
  if (at != std::string::npos &&
      std::sscanf(message.c_str() + at, "parse error at line %lld, column %lld", &line, &column) == 2) {
    out.line = line;
    out.column = column;
    const size_t colon = message.find(": ", at);
    out.what = colon == std::string::npos ? message : message.substr(colon + 2);
  } else {
    const size_t bracket = message.find("] ");
    out.what = bracket == std::string::npos ? message : message.substr(bracket + 2);
    out.column = static_cast<int64_t>(e.byte);
  }
  return out;
}

// Any other nlohmann error while parsing (out_of_range.406 for a number like 1e999 that overflows a
// double): the text after the "[json.exception...] " tag.
std::string describe_json_error(const json::exception& e) {
  const std::string message = e.what();
  const size_t bracket = message.find("] ");
  return "invalid JSON: " + (bracket == std::string::npos ? message : message.substr(bracket + 2));
}

std::string row_type_error(const nlohmann::ordered_json& value) {
  return std::string("expected a JSON object per row, got ") + value.type_name();
}

std::vector<JsonRow> read_jsonl(const std::string& path, const std::string& text) {
  std::vector<JsonRow> rows;
  size_t begin = 0;
  int64_t line_no = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    ++line_no;
    std::string line = text.substr(begin, end - begin);
    begin = end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    nlohmann::ordered_json ordered;
    try {
      ordered = nlohmann::ordered_json::parse(line);
    } catch (const json::parse_error& e) {
      const ParseFailure f = describe_parse_error(e);
      throw DataError(path, line_no, "invalid JSON at column " + std::to_string(f.column) + ": " + f.what);
    } catch (const json::exception& e) {
      throw DataError(path, line_no, describe_json_error(e));
    }
    if (!ordered.is_object()) throw DataError(path, line_no, row_type_error(ordered));
    rows.push_back(JsonRow{json(ordered), line_no, std::move(ordered)});
  }
  return rows;
}

// Scans JSON text already known to be valid. Offsets are byte positions in the text.
class JsonScanner {
 public:
  explicit JsonScanner(const std::string& text) : text_(text) {}

  size_t skip_space(size_t i) const {
    while (i < text_.size() && (text_[i] == ' ' || text_[i] == '\t' || text_[i] == '\n' || text_[i] == '\r')) ++i;
    return i;
  }

  // `i` is at the opening quote; returns the offset just past the closing quote.
  size_t skip_string(size_t i) const {
    for (++i; i < text_.size(); ++i) {
      if (text_[i] == '\\') ++i;
      else if (text_[i] == '"') return i + 1;
    }
    return i;
  }

  size_t skip_value(size_t i) const {
    if (i >= text_.size()) return i;
    if (text_[i] == '"') return skip_string(i);
    if (text_[i] == '{' || text_[i] == '[') {
      int depth = 0;
      for (; i < text_.size(); ++i) {
        const char c = text_[i];
        if (c == '"') i = skip_string(i) - 1;
        else if (c == '{' || c == '[') ++depth;
        else if ((c == '}' || c == ']') && --depth == 0) return i + 1;
      }
      return i;
    }
    while (i < text_.size() && std::string(",]} \t\r\n").find(text_[i]) == std::string::npos) ++i;
    return i;
  }

  // `i` is at '['; the start offsets of its elements.
  std::vector<size_t> array_elements(size_t i) const {
    std::vector<size_t> starts;
    i = skip_space(i + 1);
    while (i < text_.size() && text_[i] != ']') {
      starts.push_back(i);
      i = skip_space(skip_value(i));
      if (i < text_.size() && text_[i] == ',') i = skip_space(i + 1);
    }
    return starts;
  }

  // `i` is at '{'; the offset of the last value whose key is `key` (the one nlohmann keeps), or npos.
  size_t member_value(size_t i, const std::string& key) const {
    size_t found = std::string::npos;
    i = skip_space(i + 1);
    while (i < text_.size() && text_[i] == '"') {
      const size_t key_end = skip_string(i);
      const std::string name = json::parse(text_.substr(i, key_end - i)).get<std::string>();
      i = skip_space(skip_space(key_end) + 1);  // past ':'
      if (name == key) found = i;
      i = skip_space(skip_value(i));
      if (i < text_.size() && text_[i] == ',') i = skip_space(i + 1);
    }
    return found;
  }

  // 1-based line of each offset; `offsets` ascend, so one pass over the text serves them all.
  std::vector<int64_t> lines_of(const std::vector<size_t>& offsets) const {
    std::vector<int64_t> lines;
    lines.reserve(offsets.size());
    int64_t line = 1;
    size_t scanned = 0;
    for (size_t offset : offsets) {
      line += std::count(text_.begin() + static_cast<std::ptrdiff_t>(scanned),
                         text_.begin() + static_cast<std::ptrdiff_t>(offset), '\n');
      scanned = offset;
      lines.push_back(line);
    }
    return lines;
  }

 private:
  const std::string& text_;
};

std::vector<JsonRow> read_json_document(const std::string& path, const std::string& text) {
  nlohmann::ordered_json document;
  try {
    document = nlohmann::ordered_json::parse(text);
  } catch (const json::parse_error& e) {
    const ParseFailure f = describe_parse_error(e);
    std::string what = "invalid JSON at column " + std::to_string(f.column) + ": " + f.what;
    if (f.what.find("expected end of input") != std::string::npos)
      what += " (one object per line is JSON Lines: name the file .jsonl)";
    throw DataError(path, f.line, what);
  } catch (const json::exception& e) {
    throw DataError(path, 0, describe_json_error(e));
  }

  const JsonScanner scanner(text);
  const size_t top = scanner.skip_space(0);
  nlohmann::ordered_json* array = nullptr;
  size_t array_offset = top;
  if (document.is_array()) {
    array = &document;
  } else if (document.is_object() && document.contains("train") && document["train"].is_array()) {
    array = &document["train"];
    array_offset = scanner.member_value(top, "train");
  } else if (document.is_object()) {
    throw DataError(path, 0, "expected a JSON array of rows or an object with a \"train\" array, got an object " +
                                 std::string(document.contains("train") ? "whose \"train\" is not an array"
                                                                        : "without a \"train\" key"));
  } else {
    throw DataError(path, 0, std::string("expected a JSON array of rows, got ") + document.type_name());
  }

  const std::vector<size_t> starts = scanner.array_elements(array_offset);
  TRL_INTERNAL_ASSERT(starts.size() == array->size(), "JSON element scan disagrees with the parser");
  const std::vector<int64_t> lines = scanner.lines_of(starts);
  std::vector<JsonRow> rows;
  rows.reserve(array->size());
  for (size_t k = 0; k < array->size(); ++k) {
    nlohmann::ordered_json& ordered = (*array)[k];
    const int64_t line = lines[k];
    if (!ordered.is_object()) throw DataError(path, line, row_type_error(ordered));
    rows.push_back(JsonRow{json(ordered), line, std::move(ordered)});
  }
  return rows;
}

}  // namespace

std::vector<JsonRow> read_json_rows(const std::string& path) {
  const std::string ext = lowercase_extension(path);
  if (ext != ".jsonl" && ext != ".json")
    throw DataError(path, 0, "unsupported file extension " + (ext.empty() ? std::string("(none)") : "'" + ext + "'") +
                                 " (expected .jsonl or .json)");
  const std::string text = read_whole_file(path);
  std::vector<JsonRow> rows = ext == ".jsonl" ? read_jsonl(path, text) : read_json_document(path, text);
  if (rows.empty()) throw DataError(path, 0, "the dataset is empty (no rows)");
  return rows;
}

}  // namespace trl
