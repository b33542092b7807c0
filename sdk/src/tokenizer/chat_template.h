// Chat templates: the ones we render natively. transformers runs any Jinja template; we recognise the
// ChatML family by content and render it exactly as its Jinja source does for plain-text messages, and
// refuse every other template rather than guess.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "trl/sdk/tokenizer/tokenizer.h"

namespace trl::tokenizer {

/// The templates we know.
enum class ChatTemplateKind {
  chatml,   ///< plain ChatML: every message as <|im_start|>{role}\n{content}<|im_end|>\n (no template, or kChatMLTemplate)
  qwen2,    ///< Qwen1.5/Qwen2: ChatML, "You are a helpful assistant." when there is no system message
  qwen2_5,  ///< Qwen2.5: ChatML, "You are Qwen, created by Alibaba Cloud. ..." when there is no system message
  qwen3,    ///< Qwen3: ChatML without a default system message; <think> blocks; enable_thinking
};

/// The Jinja source of plain ChatML, written into the byte tokenizer's tokenizer_config.json so that
/// transformers renders the same text.
extern const char* const kChatMLTemplate;

/// Which template `source_text` is ("" = none = plain ChatML). Throws ConfigError naming `tokenizer` and
/// saying which templates are supported.
ChatTemplateKind recognise_chat_template(const std::string& source_text, const std::string& tokenizer);

/// Renders `messages` as the template does with add_generation_prompt and `kwargs` (Qwen3 reads
/// enable_thinking). Throws ConfigError for tools (not supported) and DataError for a message the template
/// cannot render (an unknown role, an empty conversation for the Qwen templates).
std::string render_chat(ChatTemplateKind kind, const std::vector<Message>& messages, bool add_generation_prompt,
                        const nlohmann::json& kwargs, const std::string& tokenizer);

}  // namespace trl::tokenizer
