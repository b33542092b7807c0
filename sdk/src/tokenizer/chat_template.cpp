// Chat templates rendered by the Jinja interpreter (chat_template.h), with the variables transformers
// passes: messages, tools=None, documents=None, add_generation_prompt, the special tokens, then the
// caller's kwargs; and its two globals, raise_exception(message) and strftime_now(format).
#include "tokenizer/chat_template.h"

#include <chrono>
#include <map>
#include <memory>
#include <mutex>

#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/template.h"
#include "trl/sdk/error.h"

namespace trl::tokenizer {

const char* const kChatMLTemplate =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + "
    "'\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

namespace {

// Parsed templates by source: a dataset renders thousands of rows with the same template.
std::shared_ptr<const jinja::Template> parsed(const std::string& source, const std::function<std::string()>& origin) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const jinja::Template>> cache;
  {
    std::lock_guard<std::mutex> lock(mutex);
    const auto it = cache.find(source);
    if (it != cache.end()) return it->second;
  }
  std::shared_ptr<const jinja::Template> parsed_template;
  try {
    parsed_template = std::make_shared<const jinja::Template>(source);
  } catch (const jinja::TemplateError& e) {
    throw ConfigError(origin(), "chat_template", e.what());
  }
  std::lock_guard<std::mutex> lock(mutex);
  return cache.emplace(source, parsed_template).first->second;
}

std::tm local_now() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm out{};
  localtime_r(&t, &out);
  return out;
}

jinja::Value strftime_now(const std::function<std::tm()>& now) {
  return jinja::Value::callable("strftime_now", [now](const jinja::CallArgs& args) {
    if (args.positional.size() != 1 || !args.positional[0].is_string()) {
      throw jinja::TemplateRuntimeError({}, "strftime_now() takes one format string");
    }
    const std::tm time = now ? now() : local_now();
    char buf[512];
    const size_t n = std::strftime(buf, sizeof buf, args.positional[0].as_string().c_str(), &time);
    return jinja::Value::string(std::string(buf, n));
  });
}

jinja::Value raise_exception() {
  return jinja::Value::callable("raise_exception", [](const jinja::CallArgs& args) -> jinja::Value {
    throw jinja::TemplateRaisedError({}, args.positional.empty() ? "" : args.positional[0].str());
  });
}

}  // namespace

std::string render_chat_template(const std::string& source, const nlohmann::ordered_json& messages,
                                 const ChatTemplateInputs& inputs, const std::function<std::string()>& origin) {
  const std::shared_ptr<const jinja::Template> chat_template = parsed(source.empty() ? kChatMLTemplate : source, origin);
  if (!inputs.kwargs.is_object()) {
    throw ConfigError(origin(), "chat_template_kwargs", "expected an object, got " + inputs.kwargs.dump());
  }
  jinja::Dict variables;
  // Globals first: the render arguments shadow them, as jinja2's context shadows environment globals.
  variables.set("raise_exception", raise_exception());
  variables.set("strftime_now", strftime_now(inputs.now));
  variables.set("messages", jinja::Value::from_json(messages));
  variables.set("tools", jinja::Value::none());
  variables.set("documents", jinja::Value::none());
  variables.set("add_generation_prompt", jinja::Value::boolean(inputs.add_generation_prompt));
  if (inputs.bos_token) variables.set("bos_token", jinja::Value::string(*inputs.bos_token));
  if (inputs.eos_token) variables.set("eos_token", jinja::Value::string(*inputs.eos_token));
  if (inputs.unk_token) variables.set("unk_token", jinja::Value::string(*inputs.unk_token));
  if (inputs.pad_token) variables.set("pad_token", jinja::Value::string(*inputs.pad_token));
  for (const auto& [key, value] : inputs.kwargs.items()) {
    if (key != "add_generation_prompt" && key != "messages") variables.set(key, jinja::Value::from_json(value));
  }
  try {
    return chat_template->render(variables);
  } catch (const jinja::TemplateRaisedError& e) {
    throw DataError(origin(), 0, "chat template line " + std::to_string(e.pos().line) + ":" + std::to_string(e.pos().column) +
                                   " raised an exception: " + e.message());
  } catch (const jinja::TemplateError& e) {
    throw DataError(origin(), 0, "chat template " + std::string(e.what()) + " (rendering these messages)");
  }
}

}  // namespace trl::tokenizer
