// The one Tokenizer implementation: byte-level BPE as Hugging Face tokenizers runs a tokenizer.json
// (added tokens -> normalizer -> pre-tokenizer -> BPE -> post-processor; ByteLevel decoder). The built-in
// byte tokenizer is this class with 256 byte symbols and no merges.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/added_vocabulary.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/post_processor.h"
#include "tokenizer/pre_tokenizer.h"
#include "trl/sdk/tokenizer/tokenizer.h"

namespace trl::tokenizer {

class BpeModel;

/// What a tokenizer is built from: the two files' contents and where they came from (for messages).
struct TokenizerFiles {
  std::string tokenizer_json_text;       ///< tokenizer.json, verbatim (save() writes it back unchanged)
  std::string tokenizer_json_path;       ///< its path, or a name for a built-in tokenizer
  nlohmann::json config;                 ///< tokenizer_config.json (an empty object when absent)
  std::string config_path;               ///< its path (named in errors even when absent)
  std::string chat_template_jinja;       ///< chat_template.jinja beside them, if present (newer transformers)
};

/// Byte-level BPE tokenizer built from tokenizer.json + tokenizer_config.json. Immutable; thread-safe.
class BpeTokenizer final : public Tokenizer {
 public:
  /// Parses and validates; throws ModelError naming the file and key.
  explicit BpeTokenizer(TokenizerFiles files);
  ~BpeTokenizer() override;

  std::vector<int64_t> encode(const std::string& text, bool add_special_tokens = true) const override;
  std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens = false) const override;
  int64_t vocab_size() const override;
  std::optional<int64_t> token_to_id(const std::string& token) const override;
  std::optional<std::string> id_to_token(int64_t id) const override;
  bool is_special(int64_t id) const override;
  void save(const std::string& dir) const override;

 private:
  enum class IdKind : uint8_t { unused, model, added, special };

  void parse_tokenizer_json(const nlohmann::json& doc);
  void parse_config();
  void encode_plain(const std::string& text, std::vector<int64_t>& ids) const;

  TokenizerFiles files_;
  std::vector<std::string> id_to_token_;                   ///< token string per id ("" when unused)
  std::vector<std::string> id_bytes_;                      ///< what decode emits per id
  std::vector<IdKind> id_kind_;                            ///< per id
  std::unordered_map<std::string, int64_t> token_to_id_;   ///< model vocabulary and added tokens
  std::unique_ptr<BpeModel> model_;
  std::unique_ptr<AddedTokenMatcher> raw_tokens_;          ///< added tokens matched in the input
  std::unique_ptr<AddedTokenMatcher> normalized_tokens_;   ///< added tokens matched after normalization
  Normalizer normalizer_;
  PreTokenizer pre_tokenizer_;
  PostProcessor post_processor_;
  bool clean_up_tokenization_spaces_ = false;
};

/// transformers' clean_up_tokenization: removes the space before . ? ! , and English contractions.
std::string clean_up_tokenization(std::string text);

}  // namespace trl::tokenizer

namespace trl::tokenizer {

/// Loads DIR/tokenizer.json, DIR/tokenizer_config.json (optional) and DIR/chat_template.jinja (optional).
std::unique_ptr<Tokenizer> load_tokenizer_dir(const std::string& dir);

/// The built-in byte tokenizer (Tokenizer::byte_level()), built from the tokenizer.json it saves.
std::unique_ptr<Tokenizer> make_byte_tokenizer();

/// The tokenizer.json text of the byte tokenizer: a BPE model whose vocabulary is the 256 byte-level
/// symbols (id = byte value), no merges, ByteLevel pre-tokenizer without regex, ByteLevel decoder, and
/// <|endoftext|>, <|im_start|>, <|im_end|> as special added tokens 256..258.
std::string byte_tokenizer_json();

}  // namespace trl::tokenizer
