// trl/sdk/tokenizer/tokenizer.h: text to token ids and back, as Hugging Face tokenizers does it.
//
// Two implementations behind one interface: byte-level BPE read from tokenizer.json (GPT-2, Qwen2/3,
// Llama-3 style), and the built-in byte tokenizer for models created from scratch (256 byte tokens and a
// few special tokens). Both are saved as a tokenizer.json that Hugging Face can load.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace trl {

/// One chat message.
struct Message {
  std::string role;     ///< "system", "user", "assistant", "tool"
  std::string content;  ///< the text
};

/// Encodes and decodes text; immutable after loading, safe to share between threads.
class Tokenizer {
 public:
  virtual ~Tokenizer();

  /// Loads DIR/tokenizer.json and DIR/tokenizer_config.json (bos/eos/pad tokens, chat template).
  /// Errors are ModelError naming the file and key.
  static std::unique_ptr<Tokenizer> load(const std::string& dir);
  /// The built-in byte tokenizer: ids 0..255 are bytes, then <|endoftext|> (eos and pad),
  /// <|im_start|>, <|im_end|> (ChatML). Vocabulary 259.
  static std::unique_ptr<Tokenizer> byte_level();

  /// Token ids of `text`. Special tokens written in the text are recognised; with add_special_tokens the
  /// tokenizer's post-processor adds its BOS/EOS as tokenizer.json declares (TRL's default).
  virtual std::vector<int64_t> encode(const std::string& text, bool add_special_tokens = true) const = 0;
  /// Text of `ids`; special tokens are dropped when skip_special_tokens. Invalid UTF-8 becomes U+FFFD.
  virtual std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens = false) const = 0;
  /// Number of ids (including added tokens).
  virtual int64_t vocab_size() const = 0;
  /// The id of a token string (special or regular), if any.
  virtual std::optional<int64_t> token_to_id(const std::string& token) const = 0;
  /// The token string of an id, if any.
  virtual std::optional<std::string> id_to_token(int64_t id) const = 0;
  /// Whether `id` is a special (added, special=true) token.
  virtual bool is_special(int64_t id) const = 0;
  /// Writes tokenizer.json and tokenizer_config.json into `dir`.
  virtual void save(const std::string& dir) const = 0;

  /// BOS token id, if the tokenizer has one.
  std::optional<int64_t> bos_token_id() const;
  /// EOS token id (tokenizer_config.json's eos_token).
  std::optional<int64_t> eos_token_id() const;
  /// Padding id: pad_token, falling back to EOS (as TRL's collator).
  std::optional<int64_t> pad_token_id() const;
  /// The EOS token's text (TRL appends it to standard completions).
  std::string eos_token() const;

  /// Renders a conversation with the tokenizer's chat template. Only ChatML (Qwen's template) is
  /// implemented: a tokenizer whose tokenizer_config.json has another template throws ConfigError
  /// naming it. `kwargs` are chat_template_kwargs (e.g. {"enable_thinking": false}).
  std::string apply_chat_template(const std::vector<Message>& messages, bool add_generation_prompt,
                                  const nlohmann::json& kwargs = nlohmann::json::object()) const;

 protected:
  /// Special-token texts and the chat template, set by the implementations while loading.
  std::optional<std::string> bos_token_;
  std::optional<std::string> eos_token_;
  std::optional<std::string> pad_token_;
  std::string chat_template_;   ///< tokenizer_config.json's chat_template ("" = default ChatML)
  std::string source_;          ///< where it was loaded from, for messages
};

}  // namespace trl
