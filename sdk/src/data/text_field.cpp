// TextOrChat and reading one text column of a dataset row (sdk/src/data/text_field.h).
#include "text_field.h"

#include <utility>

#include "trl/sdk/error.h"

namespace trl {

TextOrChat TextOrChat::of_text(std::string text) {
  TextOrChat out;
  out.text = std::move(text);
  return out;
}

TextOrChat TextOrChat::of_chat(std::vector<Message> messages) {
  TextOrChat out;
  out.messages = std::move(messages);
  out.is_chat = true;
  return out;
}

bool operator==(const TextOrChat& a, const TextOrChat& b) {
  if (a.is_chat != b.is_chat || a.text != b.text || a.messages.size() != b.messages.size()) return false;
  for (size_t i = 0; i < a.messages.size(); ++i)
    if (a.messages[i].role != b.messages[i].role || a.messages[i].content != b.messages[i].content) return false;
  return true;
}

bool operator!=(const TextOrChat& a, const TextOrChat& b) { return !(a == b); }

namespace detail {
namespace {

using nlohmann::json;

// The roles of the ChatML template (and of HF chat datasets); anything else is a typo or unsupported.
bool is_known_role(const std::string& role) {
  return role == "system" || role == "user" || role == "assistant" || role == "tool";
}

Message parse_message(const json& value, const std::string& key, size_t index, const RowPlace& place) {
  const std::string where = "'" + key + "' message " + std::to_string(index + 1) + ": ";
  if (!value.is_object())
    throw DataError(place.file, place.line, where + "expected an object {role, content}, got " + value.type_name());
  for (const auto& item : value.items())
    if (item.key() != "role" && item.key() != "content")
      throw DataError(place.file, place.line,
                      where + "unsupported key '" + item.key() + "' (only role and content are supported)");
  if (!value.contains("role")) throw DataError(place.file, place.line, where + "missing 'role'");
  if (!value.contains("content")) throw DataError(place.file, place.line, where + "missing 'content'");
  const json& role = value["role"];
  const json& content = value["content"];
  if (!role.is_string())
    throw DataError(place.file, place.line, where + "'role' must be a string, got " + role.type_name());
  if (!is_known_role(role.get<std::string>()))
    throw DataError(place.file, place.line,
                    where + "unknown role '" + role.get<std::string>() + "' (expected system, user, assistant or tool)");
  if (!content.is_string())
    throw DataError(place.file, place.line,
                    where + "'content' must be a string, got " + content.type_name() +
                        (content.is_array() ? " (content parts, e.g. images, are not supported)" : ""));
  return Message{role.get<std::string>(), content.get<std::string>()};
}

}  // namespace

bool has_column(const json& row, const std::string& key) {
  const auto it = row.find(key);
  return it != row.end() && !it->is_null();
}

void require_column(const json& row, const std::string& key, const RowPlace& place, const std::string& hint) {
  if (!has_column(row, key)) throw DataError(place.file, place.line, "missing column '" + key + "'" + hint);
}

bool judge_is_chat(const json& value, const std::string& key, const RowPlace& place) {
  if (value.is_string()) return false;
  const std::string expected = "'" + key + "' must be a string or a list of {role, content} messages, got ";
  if (!value.is_array()) throw DataError(place.file, place.line, expected + value.type_name());
  if (value.empty()) throw DataError(place.file, place.line, expected + "an empty list");
  const json& first = value.front();
  if (!first.is_object() || !first.contains("role"))
    throw DataError(place.file, place.line,
                    expected + "a list whose first element is " +
                        (first.is_object() ? std::string("an object without 'role'") : first.type_name()));
  return true;
}

TextOrChat parse_text_field(const json& value, const std::string& key, bool is_chat, bool allow_empty_chat,
                            const RowPlace& place) {
  if (!is_chat) {
    if (!value.is_string())
      throw DataError(place.file, place.line,
                      "'" + key + "' must be a string: the dataset is standard (judged from its first row), got " +
                          value.type_name());
    return TextOrChat::of_text(value.get<std::string>());
  }
  if (!value.is_array())
    throw DataError(place.file, place.line,
                    "'" + key + "' must be a list of {role, content} messages: the dataset is conversational " +
                        "(judged from its first row), got " + value.type_name());
  if (value.empty() && !allow_empty_chat)
    throw DataError(place.file, place.line, "'" + key + "' is an empty message list");
  std::vector<Message> messages;
  messages.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) messages.push_back(parse_message(value[i], key, i, place));
  return TextOrChat::of_chat(std::move(messages));
}

}  // namespace detail
}  // namespace trl
