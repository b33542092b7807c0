// The Tokenizer interface's shared parts (trl/sdk/tokenizer/tokenizer.h).
#include "trl/sdk/tokenizer/tokenizer.h"

#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/chat_template.h"

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

std::string Tokenizer::apply_chat_template(const std::vector<Message>& messages, bool add_generation_prompt,
                                           const nlohmann::json& kwargs) const {
  const tokenizer::ChatTemplateKind kind = tokenizer::recognise_chat_template(chat_template_, source_);
  return tokenizer::render_chat(kind, messages, add_generation_prompt, kwargs, source_);
}

}  // namespace trl
