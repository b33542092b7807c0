// Chat templates: a tokenizer's Jinja chat_template rendered as transformers' apply_chat_template(
// tokenize=False) renders it, by trl-host's Jinja interpreter (tokenizer/jinja/template.h). Without a
// template, plain ChatML (kChatMLTemplate) is used.
#pragma once

#include <ctime>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace trl::tokenizer {

/// The Jinja source of plain ChatML, written into the byte tokenizer's tokenizer_config.json so that
/// transformers renders the same text, and used when a tokenizer has no template.
extern const char* const kChatMLTemplate;

/// What a template is rendered with besides the messages (transformers' render(...) arguments).
struct ChatTemplateInputs {
  bool add_generation_prompt = false;  ///< append the assistant turn's opening
  /// Extra template variables (transformers' **kwargs: enable_thinking, tools, documents, date_string,
  /// ...); they override the special tokens. tools and documents are None when absent, as transformers
  /// passes them.
  nlohmann::ordered_json kwargs = nlohmann::ordered_json::object();
  std::optional<std::string> bos_token;  ///< special tokens, as transformers' special_tokens_map
  std::optional<std::string> eos_token;  ///< (absent ones are not defined in the template)
  std::optional<std::string> pad_token;
  std::optional<std::string> unk_token;
  /// The local time strftime_now(format) formats; empty = now (tests fix it).
  std::function<std::tm()> now;
};

/// Renders `source` ("" = kChatMLTemplate) on `messages` (a JSON array of message objects with any fields:
/// role, content, reasoning_content, tool_calls, ...). `origin()` names where the template came from
/// (DIR/tokenizer_config.json or DIR/chat_template.jinja); it is called only to write an error message. Parsed templates are cached, so
/// rendering many rows parses once. Throws ConfigError "origin: chat_template: line L:C: ..." for a
/// template that cannot be parsed or uses an unsupported construct, and DataError naming the origin and
/// the template line:column when rendering fails on these messages (raise_exception(message) from the
/// template, an undefined value used, a type error).
std::string render_chat_template(const std::string& source, const nlohmann::ordered_json& messages,
                                 const ChatTemplateInputs& inputs, const std::function<std::string()>& origin);

/// The same with a fixed origin.
inline std::string render_chat_template(const std::string& source, const nlohmann::ordered_json& messages,
                                        const ChatTemplateInputs& inputs, const std::string& origin) {
  return render_chat_template(source, messages, inputs, [&origin] { return origin; });
}

}  // namespace trl::tokenizer
