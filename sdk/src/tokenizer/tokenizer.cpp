// The Tokenizer interface's shared parts (trl/sdk/tokenizer/tokenizer.h).
#include "trl/sdk/tokenizer/tokenizer.h"

#include <fstream>

#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/chat_template.h"
#include "trl/sdk/error.h"

namespace trl {

Tokenizer::~Tokenizer() = default;

std::unique_ptr<Tokenizer> Tokenizer::load(const std::string& dir) { return tokenizer::load_tokenizer_dir(dir); }

std::unique_ptr<Tokenizer> Tokenizer::byte_level() { return tokenizer::make_byte_tokenizer(); }

std::optional<int64_t> Tokenizer::bos_token_id() const {
  return bos_token_ ? token_to_id(*bos_token_) : std::nullopt;
}

std::optional<int64_t> Tokenizer::eos_token_id() const {
  return eos_token_ ? token_to_id(*eos_token_) : std::nullopt;
}

std::optional<int64_t> Tokenizer::pad_token_id() const {
  if (pad_token_) return token_to_id(*pad_token_);
  return eos_token_id();
}

std::string Tokenizer::eos_token() const { return eos_token_.value_or(std::string()); }

namespace {

// Where the template came from, for messages: tokenizer_config.json, or chat_template.jinja when the
// config has none (newer transformers saves it there).
std::string chat_template_origin(const std::string& tokenizer_json_path) {
  const size_t slash = tokenizer_json_path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : tokenizer_json_path.substr(0, slash);
  std::ifstream config(dir + "/tokenizer_config.json");
  if (config) {
    try {
      const nlohmann::json parsed = nlohmann::json::parse(config);
      if (parsed.contains("chat_template") && !parsed["chat_template"].is_null()) return dir + "/tokenizer_config.json";
    } catch (const nlohmann::json::exception&) {
    }
  }
  if (std::ifstream(dir + "/chat_template.jinja")) return dir + "/chat_template.jinja";
  return dir + "/tokenizer_config.json";
}

}  // namespace

std::string Tokenizer::apply_chat_template(const std::vector<Message>& messages, bool add_generation_prompt,
                                           const nlohmann::json& kwargs) const {
  nlohmann::ordered_json chat = nlohmann::ordered_json::array();
  for (const Message& m : messages) chat.push_back({{"role", m.role}, {"content", m.content}});
  return apply_chat_template_json(chat, add_generation_prompt, nlohmann::ordered_json(kwargs));
}

std::string Tokenizer::apply_chat_template_json(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                                                const nlohmann::ordered_json& kwargs) const {
  if (!kwargs.is_object()) throw ConfigError(source_, "chat_template_kwargs", "expected an object, got " + kwargs.dump());
  tokenizer::ChatTemplateInputs inputs;
  inputs.add_generation_prompt = add_generation_prompt;
  inputs.kwargs = kwargs;
  inputs.bos_token = bos_token_;
  inputs.eos_token = eos_token_;
  inputs.pad_token = pad_token_;
  // The origin is only worked out (reading the folder) when there is an error to report.
  const auto origin = [this] {
    return source_.rfind("<byte tokenizer>", 0) == 0 ? source_ : chat_template_origin(source_);
  };
  return tokenizer::render_chat_template(chat_template_, messages, inputs, origin);
}

}  // namespace trl
