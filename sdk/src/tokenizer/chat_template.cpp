// ChatML-family chat templates (see chat_template.h). Each renderer follows its Jinja source line by
// line for messages with plain string content and no tools; the sources are quoted in the comments.
#include "tokenizer/chat_template.h"

#include <nlohmann/json.hpp>

#include "trl/sdk/error.h"

namespace trl::tokenizer {

const char* const kChatMLTemplate =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + "
    "'\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

namespace {

// Qwen1.5 / Qwen2 Instruct's template, compared whole (it is short and was never revised).
const char* const kQwen2Template =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ "
    "'<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + "
    "message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt "
    "%}{{ '<|im_start|>assistant\\n' }}{% endif %}";

// Lines that only Qwen2.5's template has (its default system message and its turn format).
const char* const kQwen25Markers[] = {
    R"('<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n')",
    R"('<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n')",
    R"('<|im_start|>assistant\n')",
};
// Lines that only Qwen3's template has (thinking blocks, last_query_index, enable_thinking).
const char* const kQwen3Markers[] = {
    "last_query_index",
    "reasoning_content",
    R"('<|im_start|>' + message.role + '\n<think>\n' + reasoning_content.strip('\n') + '\n</think>\n\n' + content.lstrip('\n'))",
    R"(enable_thinking is defined and enable_thinking is false)",
    R"('<think>\n\n</think>\n\n')",
};

std::string trim(const std::string& s) {
  const size_t begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(" \t\r\n") + 1 - begin);
}

template <size_t N>
bool has_all(const std::string& text, const char* const (&markers)[N]) {
  for (const char* marker : markers) {
    if (text.find(marker) == std::string::npos) return false;
  }
  return true;
}

std::string turn(const std::string& role, const std::string& content) {
  return "<|im_start|>" + role + "\n" + content + "<|im_end|>\n";
}

// Python's str.lstrip / rstrip / strip with a character set.
std::string lstrip(const std::string& s, const char* chars) {
  const size_t begin = s.find_first_not_of(chars);
  return begin == std::string::npos ? "" : s.substr(begin);
}
std::string rstrip(const std::string& s, const char* chars) {
  const size_t end = s.find_last_not_of(chars);
  return end == std::string::npos ? "" : s.substr(0, end + 1);
}
std::string strip(const std::string& s, const char* chars) { return lstrip(rstrip(s, chars), chars); }

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Both Qwen templates wrap consecutive tool messages into one user turn:
//   {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}{{- '<|im_start|>user' }}
//   {{- '\n<tool_response>\n' }}{{- message.content }}{{- '\n</tool_response>' }}
//   {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}{{- '<|im_end|>\n' }}
std::string tool_turn(const std::vector<Message>& messages, size_t i) {
  std::string out;
  if (i == 0 || messages[i - 1].role != "tool") out += "<|im_start|>user";
  out += "\n<tool_response>\n" + messages[i].content + "\n</tool_response>";
  if (i + 1 == messages.size() || messages[i + 1].role != "tool") out += "<|im_end|>\n";
  return out;
}

[[noreturn]] void unknown_role(const std::string& tokenizer, const char* name, size_t i, const std::string& role) {
  throw DataError(tokenizer, 0, "chat template " + std::string(name) + ": message " + std::to_string(i) + " has role \"" +
                                    role + "\", which the template would silently drop (expected system, user, "
                                    "assistant or tool)");
}

std::string render_chatml(const std::vector<Message>& messages, bool add_generation_prompt) {
  std::string out;
  for (const Message& m : messages) out += turn(m.role, m.content);
  if (add_generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

// Qwen2:
//   {% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}
//   {{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}
//   {{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}
std::string render_qwen2(const std::vector<Message>& messages, bool add_generation_prompt) {
  std::string out;
  if (!messages.empty() && messages[0].role != "system") out += turn("system", "You are a helpful assistant.");
  return out + render_chatml(messages, add_generation_prompt);
}

// Qwen2.5 (the branch without tools):
//   {%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}
//   {%- else %}{{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}
//   {%- for message in messages %}
//     {%- if (message.role == "user") or (message.role == "system" and not loop.first) or
//            (message.role == "assistant" and not message.tool_calls) %} <turn>
//     {%- elif message.role == "tool" %} <tool turn>
//   {%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}
std::string render_qwen2_5(const std::vector<Message>& messages, bool add_generation_prompt, const std::string& tokenizer) {
  std::string out = messages[0].role == "system"
                        ? turn("system", messages[0].content)
                        : turn("system", "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.");
  for (size_t i = 0; i < messages.size(); ++i) {
    const Message& m = messages[i];
    if (m.role == "user" || (m.role == "system" && i > 0) || m.role == "assistant") {
      out += turn(m.role, m.content);
    } else if (m.role == "tool") {
      out += tool_turn(messages, i);
    } else if (m.role != "system") {
      unknown_role(tokenizer, "Qwen2.5", i, m.role);
    }
  }
  if (add_generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

// Qwen3 (the branch without tools). The last user query is the last user message that is not a wrapped
// tool response; assistant turns after it keep their reasoning in a <think> block:
//   {%- if '</think>' in message.content %}
//     {%- set content = message.content.split('</think>')[-1].lstrip('\n') %}
//     {%- set reasoning_content = message.content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n') %}
//   {%- if loop.index0 > ns.last_query_index %}
//     {%- if loop.last or (not loop.last and reasoning_content) %}
//       {{- '<|im_start|>' + message.role + '\n<think>\n' + reasoning_content.strip('\n') + '\n</think>\n\n' + content.lstrip('\n') }}
//     {%- else %}{{- '<|im_start|>' + message.role + '\n' + content }}
//   {%- else %}{{- '<|im_start|>' + message.role + '\n' + content }}
//   {{- '<|im_end|>\n' }}
//   ... {%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}
//   {%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\n\n</think>\n\n' }}
std::string render_qwen3(const std::vector<Message>& messages, bool add_generation_prompt, const nlohmann::json& kwargs,
                         const std::string& tokenizer) {
  std::string out;
  if (messages[0].role == "system") out += turn("system", messages[0].content);
  size_t last_query = messages.size() - 1;
  for (size_t k = messages.size(); k-- > 0;) {
    const std::string& c = messages[k].content;
    if (messages[k].role == "user" && !(starts_with(c, "<tool_response>") && ends_with(c, "</tool_response>"))) {
      last_query = k;
      break;
    }
  }
  for (size_t i = 0; i < messages.size(); ++i) {
    const Message& m = messages[i];
    if (m.role == "user" || (m.role == "system" && i > 0)) {
      out += turn(m.role, m.content);
    } else if (m.role == "assistant") {
      std::string content = m.content;
      std::string reasoning;
      const size_t close = m.content.find("</think>");
      if (close != std::string::npos) {
        content = lstrip(m.content.substr(m.content.rfind("</think>") + 8), "\n");
        const std::string before = rstrip(m.content.substr(0, close), "\n");
        const size_t open = before.rfind("<think>");
        reasoning = lstrip(open == std::string::npos ? before : before.substr(open + 7), "\n");
      }
      const bool last = i + 1 == messages.size();
      if (i > last_query && (last || !reasoning.empty())) {
        out += "<|im_start|>assistant\n<think>\n" + strip(reasoning, "\n") + "\n</think>\n\n" + lstrip(content, "\n");
      } else {
        out += "<|im_start|>assistant\n" + content;
      }
      out += "<|im_end|>\n";
    } else if (m.role == "tool") {
      out += tool_turn(messages, i);
    } else if (m.role != "system") {
      unknown_role(tokenizer, "Qwen3", i, m.role);
    }
  }
  if (add_generation_prompt) {
    out += "<|im_start|>assistant\n";
    // Jinja's "is false" holds for the boolean false only.
    if (kwargs.contains("enable_thinking") && kwargs["enable_thinking"].is_boolean() &&
        !kwargs["enable_thinking"].get<bool>()) {
      out += "<think>\n\n</think>\n\n";
    }
  }
  return out;
}

}  // namespace

ChatTemplateKind recognise_chat_template(const std::string& source_text, const std::string& tokenizer) {
  const std::string t = trim(source_text);
  if (t.empty() || t == kChatMLTemplate) return ChatTemplateKind::chatml;
  if (t == kQwen2Template) return ChatTemplateKind::qwen2;
  if (has_all(t, kQwen3Markers)) return ChatTemplateKind::qwen3;
  if (has_all(t, kQwen25Markers)) return ChatTemplateKind::qwen2_5;
  throw ConfigError(tokenizer, "chat_template",
                    "this chat template is not supported: only plain ChatML and the Qwen2, Qwen2.5 and Qwen3 "
                    "templates are rendered (a Jinja engine is not part of trl-host); template starts with " +
                        nlohmann::json(t.substr(0, 80)).dump());
}

std::string render_chat(ChatTemplateKind kind, const std::vector<Message>& messages, bool add_generation_prompt,
                        const nlohmann::json& kwargs, const std::string& tokenizer) {
  if (!kwargs.is_object()) {
    throw ConfigError(tokenizer, "chat_template_kwargs", "expected an object, got " + kwargs.dump());
  }
  if (kwargs.contains("tools") && !kwargs["tools"].is_null() && !kwargs["tools"].empty()) {
    throw ConfigError(tokenizer, "chat_template_kwargs.tools", "tool definitions are not supported by trl-host's chat templates");
  }
  if (kind == ChatTemplateKind::chatml) return render_chatml(messages, add_generation_prompt);
  if (kind == ChatTemplateKind::qwen2) return render_qwen2(messages, add_generation_prompt);
  // The Qwen2.5 and Qwen3 templates read messages[0] unconditionally; Jinja fails on an empty list.
  if (messages.empty()) throw DataError(tokenizer, 0, "chat template: the conversation has no messages");
  if (kind == ChatTemplateKind::qwen2_5) return render_qwen2_5(messages, add_generation_prompt, tokenizer);
  return render_qwen3(messages, add_generation_prompt, kwargs, tokenizer);
}

}  // namespace trl::tokenizer
