// The built-in byte tokenizer: ids are bytes, three ChatML special tokens, and a saved tokenizer.json that
// loads back (here, and in Hugging Face tokenizers: see tests/tokenizer-parity) with the same ids.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer_test_support.h"
#include "trl/sdk/error.h"
#include "trl/sdk/tokenizer/tokenizer.h"

namespace {

using Ids = std::vector<int64_t>;

TEST(ByteTokenizer, HasByteIdsAndThreeSpecialTokens) {
  auto tok = trl::Tokenizer::byte_level();
  EXPECT_EQ(tok->vocab_size(), 259);
  EXPECT_EQ(tok->token_to_id("<|endoftext|>"), 256);
  EXPECT_EQ(tok->token_to_id("<|im_start|>"), 257);
  EXPECT_EQ(tok->token_to_id("<|im_end|>"), 258);
  EXPECT_EQ(tok->eos_token_id(), 256);
  EXPECT_EQ(tok->pad_token_id(), 256);
  EXPECT_FALSE(tok->bos_token_id().has_value());
  EXPECT_EQ(tok->eos_token(), "<|endoftext|>");
  EXPECT_TRUE(tok->is_special(258));
  EXPECT_FALSE(tok->is_special(65));
  EXPECT_EQ(tok->id_to_token(32), "\xC4\xA0");  // "Ġ": the byte-level symbol of a space
  EXPECT_EQ(tok->id_to_token(65), "A");
  EXPECT_FALSE(tok->id_to_token(259).has_value());
}

TEST(ByteTokenizer, EncodesUtf8Bytes) {
  auto tok = trl::Tokenizer::byte_level();
  EXPECT_EQ(tok->encode("h\xC3\xA9 !"), (Ids{'h', 0xC3, 0xA9, ' ', '!'}));
  EXPECT_EQ(tok->encode(""), Ids{});
  EXPECT_EQ(tok->encode("\xF0\x9F\x98\x80"), (Ids{0xF0, 0x9F, 0x98, 0x80}));  // U+1F600
}

TEST(ByteTokenizer, SplitsSpecialTokensOutOfText) {
  auto tok = trl::Tokenizer::byte_level();
  EXPECT_EQ(tok->encode("<|im_start|>user\nhi<|im_end|>"), (Ids{257, 'u', 's', 'e', 'r', '\n', 'h', 'i', 258}));
  EXPECT_EQ(tok->encode("a<|endoftext|><|endoftext|>"), (Ids{'a', 256, 256}));
  // Incomplete special tokens stay text.
  EXPECT_EQ(tok->encode("<|im_end|"), (Ids{'<', '|', 'i', 'm', '_', 'e', 'n', 'd', '|'}));
}

TEST(ByteTokenizer, DecodeRoundTripsAndCanSkipSpecialTokens) {
  auto tok = trl::Tokenizer::byte_level();
  for (const std::string text : {"", "plain", "  spaces\tand\nnewlines  ", "中文 😀 caf\xC3\xA9", "<|im_start|>x<|im_end|>\n"}) {
    EXPECT_EQ(tok->decode(tok->encode(text)), text);
  }
  EXPECT_EQ(tok->decode(tok->encode("<|im_start|>user\nhi<|im_end|>\n"), /*skip_special_tokens=*/true), "user\nhi\n");
}

TEST(ByteTokenizer, DecodesPartialCharactersAsReplacementCharacters) {
  auto tok = trl::Tokenizer::byte_level();
  // One U+FFFD per maximal ill-formed subpart (Unicode's recommended practice, as HF decodes).
  EXPECT_EQ(tok->decode({0xE4, 0xB8}), "\xEF\xBF\xBD");                       // truncated 3-byte character
  EXPECT_EQ(tok->decode({0xE4, 'a'}), "\xEF\xBF\xBD" "a");
  EXPECT_EQ(tok->decode({0x80, 0x80}), "\xEF\xBF\xBD\xEF\xBF\xBD");           // two stray continuation bytes
  EXPECT_EQ(tok->decode({0xED, 0xA0, 0x80}), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
  EXPECT_EQ(tok->decode({0xF0, 0x9F, 0x98, 258}), "\xEF\xBF\xBD<|im_end|>");
}

TEST(ByteTokenizer, SavesATokenizerJsonThatLoadsBackWithTheSameIds) {
  auto tok = trl::Tokenizer::byte_level();
  const std::string dir = tokenizer_test::scratch_dir() + "/model";
  tok->save(dir);
  const nlohmann::json json = nlohmann::json::parse(tokenizer_test::read_text(dir + "/tokenizer.json"));
  EXPECT_EQ(json["model"]["type"], "BPE");
  EXPECT_EQ(json["model"]["vocab"].size(), 256u);
  EXPECT_EQ(json["model"]["vocab"]["\xC4\xA0"], 32);
  EXPECT_TRUE(json["model"]["merges"].empty());
  EXPECT_EQ(json["pre_tokenizer"]["type"], "ByteLevel");
  EXPECT_EQ(json["pre_tokenizer"]["use_regex"], false);
  EXPECT_EQ(json["decoder"]["type"], "ByteLevel");
  ASSERT_EQ(json["added_tokens"].size(), 3u);
  EXPECT_EQ(json["added_tokens"][1]["content"], "<|im_start|>");
  EXPECT_EQ(json["added_tokens"][1]["special"], true);
  const nlohmann::json config = nlohmann::json::parse(tokenizer_test::read_text(dir + "/tokenizer_config.json"));
  EXPECT_EQ(config["eos_token"], "<|endoftext|>");
  EXPECT_EQ(config["pad_token"], "<|endoftext|>");
  EXPECT_TRUE(config["chat_template"].is_string());

  auto loaded = trl::Tokenizer::load(dir);
  EXPECT_EQ(loaded->vocab_size(), 259);
  EXPECT_EQ(loaded->eos_token_id(), 256);
  for (const std::string text : {"Hello, world!", "<|im_start|>assistant\n\xE4\xBD\xA0\xE5\xA5\xBD<|im_end|>", " \n\t "}) {
    EXPECT_EQ(loaded->encode(text), tok->encode(text)) << text;
  }
  const std::vector<trl::Message> chat = {{"user", "hi"}};
  EXPECT_EQ(loaded->apply_chat_template(chat, true), tok->apply_chat_template(chat, true));
}

TEST(ByteTokenizer, SavingALoadedTokenizerKeepsItsFiles) {
  auto tok = trl::Tokenizer::byte_level();
  const std::string first = tokenizer_test::scratch_dir() + "/a";
  const std::string second = tokenizer_test::scratch_dir() + "/b";
  tok->save(first);
  trl::Tokenizer::load(first)->save(second);
  EXPECT_EQ(tokenizer_test::read_text(first + "/tokenizer.json"), tokenizer_test::read_text(second + "/tokenizer.json"));
  EXPECT_EQ(nlohmann::json::parse(tokenizer_test::read_text(first + "/tokenizer_config.json")),
            nlohmann::json::parse(tokenizer_test::read_text(second + "/tokenizer_config.json")));
}

// Encoding is on the data-preparation path: long inputs without spaces must not go quadratic.
TEST(TokenizerPerformance, LongRunsEncodeWellUnderASecond) {
  // Qwen's pre-tokenizer, and merges that build "a"-runs of 2, 4, 8, ... 128 so BPE has real work.
  std::vector<std::pair<std::string, std::string>> merges;
  for (std::string run = "a"; run.size() < 128; run += run) merges.emplace_back(run, run);
  auto tok = trl::Tokenizer::load(tokenizer_test::write_tokenizer(
      tokenizer_test::tiny_tokenizer(merges, false, tokenizer_test::qwen_pre_tokenizer())));
  std::string cjk;
  for (int i = 0; i < 100000 / 3; ++i) cjk += "\xE5\xAD\x97";  // U+5B57, a letter: one 100 KB word
  const std::vector<std::pair<std::string, std::string>> inputs = {
      {"letters", std::string(100000, 'a')}, {"spaces", std::string(100000, ' ')}, {"newlines", std::string(100000, '\n')},
      {"punctuation", std::string(100000, '!')}, {"digits", std::string(100000, '7')}, {"cjk", cjk},
      {"spaces then a letter", std::string(100000, ' ') + "a"}};
  for (const auto& [name, text] : inputs) {
    const auto start = std::chrono::steady_clock::now();
    const std::vector<int64_t> ids = tok->encode(text);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(seconds, 0.5) << name;
    EXPECT_FALSE(ids.empty()) << name;
    EXPECT_EQ(tok->decode(ids), text) << name;
  }
  // 100000 a's: 781 tokens of 128 a's (99968) and then 32 a's.
  const std::vector<int64_t> ids = tok->encode(std::string(100000, 'a'));
  ASSERT_EQ(ids.size(), 782u);
  EXPECT_EQ(ids.front(), 262);  // "a"*128: the 7th merge
  EXPECT_EQ(ids.back(), 260);   // "a"*32
}

}  // namespace
