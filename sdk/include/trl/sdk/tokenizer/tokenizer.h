// trl/sdk/tokenizer/tokenizer.h: text to token ids and back, as Hugging Face tokenizers does it.
//
// One implementation behind this interface: byte-level BPE run as Hugging Face tokenizers runs a
// tokenizer.json (GPT-2, Qwen2/Qwen3, Llama-3 style), checked id for id against the JavaScript reference
// (tests/tokenizer-parity). The built-in byte tokenizer for models created from scratch is the same code
// with the 256 byte symbols and no merges; it saves as a tokenizer.json that Hugging Face loads.
//
// Supported tokenizer.json parts: model BPE (vocab; merges as "a b" strings or [a, b] pairs;
// ignore_merges), added_tokens (special or not; lstrip, rstrip, single_word, normalized), normalizer null
// or NFC/NFD/NFKC/NFKD (via ICU), pre_tokenizer ByteLevel and Split (regex or literal; Isolated or
// Removed) and Sequences of them, post_processor ByteLevel, TemplateProcessing, Roberta/BertProcessing and
// Sequences of them, decoder ByteLevel. Anything else (Unigram, WordPiece, Metaspace, byte_fallback, ...)
// is refused at load with a ModelError naming the file and key, never run approximately.
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

  /// Loads DIR/tokenizer.json and, when present, DIR/tokenizer_config.json (bos/eos/pad tokens, each a
  /// string or {"content": ...}; chat_template; clean_up_tokenization_spaces; add_bos_token/add_eos_token
  /// for the LlamaTokenizer(Fast) class, which rebuilds its post-processor from them as transformers does)
  /// and DIR/chat_template.jinja. Errors are ModelError naming the file and key; a special token that is
  /// not in the vocabulary is an error (transformers would silently add it).
  static std::unique_ptr<Tokenizer> load(const std::string& dir);
  /// The built-in byte tokenizer: ids 0..255 are bytes, then <|endoftext|> (eos and pad),
  /// <|im_start|>, <|im_end|> (ChatML). Vocabulary 259.
  static std::unique_ptr<Tokenizer> byte_level();

  /// Token ids of `text` (UTF-8). Special tokens written in the text are recognised; with
  /// add_special_tokens the tokenizer's post-processor adds its BOS/EOS as tokenizer.json declares (TRL's
  /// default: Llama-3 adds <|begin_of_text|>, Qwen and the byte tokenizer add nothing). Throws DataError
  /// for text that is not valid UTF-8. O(n log n) per word, with a word cache; thread-safe.
  virtual std::vector<int64_t> encode(const std::string& text, bool add_special_tokens = true) const = 0;
  /// Text of `ids`; special tokens are dropped when skip_special_tokens. Bytes that do not form UTF-8 (a
  /// character cut between ids) become U+FFFD, one per maximal ill-formed subpart, as Hugging Face does.
  /// Ids the vocabulary lacks (e.g. padding rows of a larger embedding) are skipped as Hugging Face does; a
  /// negative id (such as the label mask -100) throws DataError. When tokenizer_config.json sets
  /// clean_up_tokenization_spaces, transformers' clean-up (" ." -> ".", " 's" -> "'s", ...) is applied.
  virtual std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens = false) const = 0;
  /// One past the largest id, added tokens included (151669 for Qwen3, 259 for the byte tokenizer).
  virtual int64_t vocab_size() const = 0;
  /// The id of a token string (special or regular), if any.
  virtual std::optional<int64_t> token_to_id(const std::string& token) const = 0;
  /// The token string of an id, if any.
  virtual std::optional<std::string> id_to_token(int64_t id) const = 0;
  /// Whether `id` is a special (added, special=true) token.
  virtual bool is_special(int64_t id) const = 0;
  /// Writes tokenizer.json (byte for byte as loaded) and tokenizer_config.json into `dir`, creating it;
  /// each file is written beside and renamed into place. Throws ModelError naming the file.
  virtual void save(const std::string& dir) const = 0;

  /// BOS token id, if the tokenizer has one.
  std::optional<int64_t> bos_token_id() const;
  /// EOS token id (tokenizer_config.json's eos_token).
  std::optional<int64_t> eos_token_id() const;
  /// Padding id: pad_token, falling back to EOS (as TRL's collator).
  std::optional<int64_t> pad_token_id() const;
  /// The EOS token's text (TRL appends it to standard completions); empty when there is no EOS token.
  std::string eos_token() const;

  /// Renders a conversation with the tokenizer's own Jinja chat template (tokenizer_config.json's
  /// chat_template, its "default" entry when it is a list, or chat_template.jinja), as transformers'
  /// apply_chat_template(tokenize=False) does: trl-host's Jinja interpreter renders it with messages,
  /// tools=None, documents=None, add_generation_prompt, bos/eos/pad tokens, raise_exception and
  /// strftime_now, then `kwargs` as extra variables (enable_thinking, tools, date_string, ...). Checked
  /// string for string against Python's jinja2 on the Qwen2.5, Qwen3, Llama-3/3.1/3.2 and Mistral
  /// templates (tests/chat_templates). No template (the byte tokenizer writes this one too): plain ChatML,
  /// each message as "<|im_start|>{role}\n{content}<|im_end|>\n", generation prompt "<|im_start|>assistant\n".
  /// Throws ConfigError naming the template's file and line:column for a template the interpreter cannot
  /// parse or does not support (macros, ...), or kwargs that are not an object; DataError naming the file
  /// and line:column when rendering these messages fails (the template's raise_exception(message), e.g.
  /// Mistral's "roles must alternate", or a value the template needs that the messages lack).
  std::string apply_chat_template(const std::vector<Message>& messages, bool add_generation_prompt,
                                  const nlohmann::json& kwargs = nlohmann::json::object()) const;
  /// The same for messages given as JSON objects with any fields the template reads (role, content,
  /// reasoning_content, tool_calls, tool_call_id, ...). Object keys keep their order here, as Python's
  /// dicts do, so tojson of tools or tool calls matches transformers; apply_chat_template's
  /// nlohmann::json kwargs have their keys sorted.
  std::string apply_chat_template_json(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                                       const nlohmann::ordered_json& kwargs = nlohmann::ordered_json::object()) const;

 protected:
  /// Special-token texts and the chat template, set by the implementations while loading.
  std::optional<std::string> bos_token_;
  std::optional<std::string> eos_token_;
  std::optional<std::string> pad_token_;
  std::string chat_template_;   ///< the Jinja chat template ("" = plain ChatML)
  std::string source_;          ///< where it was loaded from (its tokenizer.json path), for messages
};

}  // namespace trl
