// The built-in byte tokenizer: the BPE tokenizer with the 256 byte symbols and no merges, so it shares
// every code path with tokenizer.json files and saves as one that Hugging Face tokenizers loads.
#include <nlohmann/json.hpp>

#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/byte_level_alphabet.h"
#include "tokenizer/chat_template.h"

namespace trl::tokenizer {
namespace {

constexpr const char* kSpecialTokens[] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};  // ids 256, 257, 258

nlohmann::json byte_tokenizer_config() {
  return nlohmann::json{
      {"tokenizer_class", "PreTrainedTokenizerFast"},
      {"bos_token", nullptr},
      {"eos_token", "<|endoftext|>"},
      {"pad_token", "<|endoftext|>"},
      {"unk_token", nullptr},
      {"clean_up_tokenization_spaces", false},
      {"chat_template", kChatMLTemplate},
  };
}

}  // namespace

std::string byte_tokenizer_json() {
  nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
  for (int b = 0; b < 256; ++b) vocab[bytes_to_token(std::string(1, static_cast<char>(b)))] = b;
  nlohmann::ordered_json added = nlohmann::ordered_json::array();
  int id = 256;
  for (const char* content : kSpecialTokens) {
    added.push_back({{"id", id++}, {"content", content}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", false}, {"special", true}});
  }
  const nlohmann::ordered_json byte_level = {
      {"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}};
  nlohmann::ordered_json doc = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer", nullptr},
      {"pre_tokenizer", byte_level},
      {"post_processor", byte_level},
      {"decoder", byte_level},
      {"model",
       {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false}, {"ignore_merges", false},
        {"vocab", vocab}, {"merges", nlohmann::ordered_json::array()}}},
  };
  return doc.dump(2) + "\n";
}

std::unique_ptr<Tokenizer> make_byte_tokenizer() {
  TokenizerFiles files;
  files.tokenizer_json_text = byte_tokenizer_json();
  files.tokenizer_json_path = "<byte tokenizer>/tokenizer.json";
  files.config = byte_tokenizer_config();
  files.config_path = "<byte tokenizer>/tokenizer_config.json";
  return std::make_unique<BpeTokenizer>(std::move(files));
}

}  // namespace trl::tokenizer
