// Byte-level BPE from tokenizer.json on tiny hand-made vocabularies: every expected id below is worked out
// by hand from the BPE algorithm (merge the lowest-ranked adjacent pair, leftmost first, until none
// applies) with the merges written in the test. Byte symbols have id = byte value; merge results get ids
// 256, 257, ... in merge order.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tokenizer_test_support.h"
#include "trl/sdk/error.h"
#include "trl/sdk/tokenizer/tokenizer.h"

namespace {

using tokenizer_test::tiny_tokenizer;
using tokenizer_test::write_tokenizer;
using Ids = std::vector<int64_t>;

const std::vector<std::pair<std::string, std::string>> kHelloMerges = {
    {"h", "e"},     // 256 "he"     rank 0
    {"l", "l"},     // 257 "ll"     rank 1
    {"he", "ll"},   // 258 "hell"   rank 2
    {"hell", "o"},  // 259 "hello"  rank 3
    {" ", "w"},     // 260 " w"     rank 4
    {"o", "r"},     // 261 "or"     rank 5
    {" w", "or"},   // 262 " wor"   rank 6
};

TEST(BpeTokenizer, MergesByRank) {
  auto tok = trl::Tokenizer::load(write_tokenizer(tiny_tokenizer(kHelloMerges)));
  // GPT-2 regex words: "hello", " world".
  // "hello": h e l l o -> he l l o -> he ll o -> hell o -> hello = [259].
  // " world": " " w o r l d -> " w" o r l d (rank 4 before rank 5) -> " w" or l d -> " wor" l d = [262, 'l', 'd'].
  EXPECT_EQ(tok->encode("hello world"), (Ids{259, 262, 'l', 'd'}));
  EXPECT_EQ(tok->decode(tok->encode("hello world")), "hello world");
}

TEST(BpeTokenizer, PairFormMergesGiveTheSameIds) {
  auto strings = trl::Tokenizer::load(write_tokenizer(tiny_tokenizer(kHelloMerges, /*pair_form=*/false)));
  auto pairs = trl::Tokenizer::load(write_tokenizer(tiny_tokenizer(kHelloMerges, /*pair_form=*/true)));
  for (const std::string text : {"hello world", "hell or high water", "oh, hello!"}) {
    EXPECT_EQ(strings->encode(text), pairs->encode(text)) << text;
  }
  EXPECT_EQ(pairs->encode("hello world"), (Ids{259, 262, 'l', 'd'}));
}

TEST(BpeTokenizer, LowerRankMergesFirst) {
  // "abc" with "b c" ranked before "a b": b c -> bc (256), then no merge (a, bc) exists.
  auto bc_first = trl::Tokenizer::load(write_tokenizer(tiny_tokenizer({{"b", "c"}, {"a", "b"}})));
  EXPECT_EQ(bc_first->encode("abc"), (Ids{'a', 256}));
  // The other order: a b -> ab (256), then (ab, c) has no merge.
  auto ab_first = trl::Tokenizer::load(write_tokenizer(tiny_tokenizer({{"a", "b"}, {"b", "c"}})));
  EXPECT_EQ(ab_first->encode("abc"), (Ids{256, 'c'}));
}

TEST(BpeTokenizer, TiesMergeLeftmostFirst) {
  // "aaa": the pair (a, a) occurs at 0 and 1; the leftmost merges, leaving "aa a".
  auto tok = trl::Tokenizer::load(write_tokenizer(tiny_tokenizer({{"a", "a"}})));
  EXPECT_EQ(tok->encode("aaa"), (Ids{256, 'a'}));
  // "aaaa": aa a a -> aa aa (the next leftmost pair) = [256, 256].
  EXPECT_EQ(tok->encode("aaaa"), (Ids{256, 256}));
}

TEST(BpeTokenizer, IgnoreMergesTakesAWordThatIsInTheVocabulary) {
  // Vocabulary has "ab" (256), "abc" (257) and "cab" (258) but the only merges are (a, b) and (ab, c)...
  nlohmann::json json = tiny_tokenizer({{"a", "b"}, {"ab", "c"}});
  json["model"]["vocab"][tokenizer_test::symbols("cab")] = 258;
  auto plain = trl::Tokenizer::load(write_tokenizer(json));
  EXPECT_EQ(plain->encode("cab"), (Ids{'c', 256}));  // c ab: no (c, ab) merge
  // ...with ignore_merges (Llama-3) a whole word found in the vocabulary is one token.
  json["model"]["ignore_merges"] = true;
  auto ignoring = trl::Tokenizer::load(write_tokenizer(json));
  EXPECT_EQ(ignoring->encode("cab"), (Ids{258}));
  EXPECT_EQ(ignoring->encode("abcab"), (Ids{257, 256}));  // not a vocab word: merges, abc ab
}

TEST(BpeTokenizer, SplitRegexIsolatesDigitsAsQwenAndLlama3Do) {
  const std::vector<std::pair<std::string, std::string>> merges = {{"1", "2"}, {"12", "3"}, {"4", "5"}};
  // Qwen: \p{N} alone, so every digit is its own word and no merge applies.
  auto qwen = trl::Tokenizer::load(write_tokenizer(tiny_tokenizer(merges, false, tokenizer_test::qwen_pre_tokenizer())));
  EXPECT_EQ(qwen->encode("12345"), (Ids{'1', '2', '3', '4', '5'}));
  // Llama-3: \p{N}{1,3}, so "123" and "45" are words: [123 (257), 45 (258)].
  auto llama = trl::Tokenizer::load(
      write_tokenizer(tiny_tokenizer(merges, false, tokenizer_test::qwen_pre_tokenizer("\\p{N}{1,3}"))));
  EXPECT_EQ(llama->encode("12345"), (Ids{257, 258}));
}

TEST(BpeTokenizer, WhitespaceMeansUnicodeWhiteSpaceAsInOniguruma) {
  // U+180E MONGOLIAN VOWEL SEPARATOR (E1 A0 8E) is not White_Space, though PCRE2's own \s matches it. So in
  // "a\u180E!" the Qwen regex's " ?[^\s\p{L}\p{N}]+" takes "\u180E!" as one word, which these merges make
  // one token: E1 A0 -> 256, 256 8E -> 257, 257 ! -> 258. Were it whitespace, it would be a word alone (257).
  // U+2003 EM SPACE is White_Space: "\u2003!" is never one word (\s+ takes it alone), although merges
  // E2 80 -> 259, 259 83 -> 260, 260 ! -> 261 would make it one token.
  const std::string mvs = "\xE1\xA0\x8E", em = "\xE2\x80\x83";
  auto tok = trl::Tokenizer::load(write_tokenizer(tiny_tokenizer(
      {{"\xE1", "\xA0"}, {"\xE1\xA0", "\x8E"}, {mvs, "!"}, {"\xE2", "\x80"}, {"\xE2\x80", "\x83"}, {em, "!"}}, false,
      tokenizer_test::qwen_pre_tokenizer())));
  EXPECT_EQ(tok->encode("a" + mvs + "!"), (Ids{'a', 258}));
  EXPECT_EQ(tok->encode("a" + em + "!"), (Ids{'a', 260, '!'}));
}

TEST(BpeTokenizer, NfcNormalizerComposesBeforeSplitting) {
  nlohmann::json json = tiny_tokenizer({{"\xC3", "\xA9"}}, false, tokenizer_test::qwen_pre_tokenizer());  // é = 256
  json["normalizer"] = {{"type", "NFC"}};
  auto tok = trl::Tokenizer::load(write_tokenizer(json));
  EXPECT_EQ(tok->encode("e\xCC\x81"), (Ids{256}));       // e + U+0301 composes to U+00E9
  EXPECT_EQ(tok->encode("\xC3\xA9"), (Ids{256}));        // already composed
  EXPECT_EQ(tok->decode(tok->encode("caf" "e\xCC\x81")), "caf\xC3\xA9");
}

nlohmann::json with_added(nlohmann::json json, const std::vector<nlohmann::json>& added) {
  json["added_tokens"] = added;
  for (const auto& token : added) json["model"]["vocab"][token["content"].get<std::string>()] = token["id"];
  return json;
}

nlohmann::json added_token(int id, const std::string& content, bool special, bool lstrip = false, bool rstrip = false,
                           bool single_word = false) {
  return {{"id", id}, {"content", content}, {"special", special}, {"normalized", false},
          {"lstrip", lstrip}, {"rstrip", rstrip}, {"single_word", single_word}};
}

TEST(BpeTokenizer, AddedTokensMatchLongestFirst) {
  auto tok = trl::Tokenizer::load(write_tokenizer(with_added(
      tiny_tokenizer({}), {added_token(256, "<a>", true), added_token(257, "<a><b>", true)})));
  EXPECT_EQ(tok->encode("<a><b>"), (Ids{257}));
  EXPECT_EQ(tok->encode("x<a>y<a><b>"), (Ids{'x', 256, 'y', 257}));
  EXPECT_EQ(tok->encode("<a"), (Ids{'<', 'a'}));
}

TEST(BpeTokenizer, AddedTokenStripFlagsTakeNeighbouringWhitespace) {
  const nlohmann::json base = tiny_tokenizer({});
  auto left = trl::Tokenizer::load(write_tokenizer(with_added(base, {added_token(256, "<m>", false, true, false)})));
  // lstrip: the space before <m> belongs to the token; the one after stays text.
  EXPECT_EQ(left->encode("a <m> b"), (Ids{'a', 256, ' ', 'b'}));
  auto right = trl::Tokenizer::load(write_tokenizer(with_added(base, {added_token(256, "<m>", false, false, true)})));
  EXPECT_EQ(right->encode("a <m>  b"), (Ids{'a', ' ', 256, 'b'}));
}

TEST(BpeTokenizer, SingleWordTokenOnlyMatchesOutsideWords) {
  auto tok = trl::Tokenizer::load(
      write_tokenizer(with_added(tiny_tokenizer({}), {added_token(256, "ab", false, false, false, true)})));
  EXPECT_EQ(tok->encode("ab cd"), (Ids{256, ' ', 'c', 'd'}));
  EXPECT_EQ(tok->encode("xab"), (Ids{'x', 'a', 'b'}));
  EXPECT_EQ(tok->encode("(ab)"), (Ids{'(', 256, ')'}));
}

TEST(BpeTokenizer, TemplateProcessingAddsBosOnlyWithSpecialTokens) {
  nlohmann::json json = with_added(tiny_tokenizer({}), {added_token(256, "<s>", true)});
  // Llama-3.1's post-processor shape: ByteLevel, then a template that puts <s> before sequence A.
  json["post_processor"] = nlohmann::json::parse(R"({"type": "Sequence", "processors": [
      {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
      {"type": "TemplateProcessing",
       "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
       "pair": [],
       "special_tokens": {"<s>": {"id": "<s>", "ids": [256], "tokens": ["<s>"]}}}]})");
  auto tok = trl::Tokenizer::load(write_tokenizer(json, {{"bos_token", "<s>"}}));
  EXPECT_EQ(tok->encode("hi"), (Ids{256, 'h', 'i'}));
  EXPECT_EQ(tok->encode("hi", /*add_special_tokens=*/false), (Ids{'h', 'i'}));
  EXPECT_EQ(tok->encode(""), (Ids{256}));
  EXPECT_EQ(tok->bos_token_id(), 256);
}

TEST(BpeTokenizer, LlamaTokenizerClassFollowsAddBosToken) {
  const nlohmann::json json = with_added(tiny_tokenizer({}), {added_token(256, "<s>", true), added_token(257, "</s>", true)});
  auto with_bos = trl::Tokenizer::load(write_tokenizer(
      json, {{"tokenizer_class", "LlamaTokenizerFast"}, {"bos_token", "<s>"}, {"eos_token", "</s>"}}));
  EXPECT_EQ(with_bos->encode("a"), (Ids{256, 'a'}));  // add_bos_token defaults to true for this class
  auto both = trl::Tokenizer::load(write_tokenizer(json, {{"tokenizer_class", "LlamaTokenizerFast"}, {"bos_token", "<s>"},
                                                          {"eos_token", "</s>"}, {"add_bos_token", false},
                                                          {"add_eos_token", true}}));
  EXPECT_EQ(both->encode("a"), (Ids{'a', 257}));
  // Other classes ignore add_bos_token and keep tokenizer.json's post-processor (none here).
  auto qwen = trl::Tokenizer::load(write_tokenizer(
      json, {{"tokenizer_class", "Qwen2Tokenizer"}, {"bos_token", "<s>"}, {"add_bos_token", true}}));
  EXPECT_EQ(qwen->encode("a"), (Ids{'a'}));
}

TEST(BpeTokenizer, ConfigTokensMayBeAddedTokenObjects) {
  const nlohmann::json json = with_added(tiny_tokenizer({}), {added_token(256, "<eos>", true), added_token(257, "<pad>", true)});
  auto tok = trl::Tokenizer::load(write_tokenizer(
      json, {{"eos_token", {{"__type", "AddedToken"}, {"content", "<eos>"}, {"special", true}}}, {"pad_token", "<pad>"}}));
  EXPECT_EQ(tok->eos_token_id(), 256);
  EXPECT_EQ(tok->pad_token_id(), 257);
  EXPECT_EQ(tok->eos_token(), "<eos>");
  EXPECT_FALSE(tok->bos_token_id().has_value());
}

TEST(BpeTokenizer, DecodeCleansUpSpacesWhenTheConfigSaysSo) {
  const nlohmann::json json = tiny_tokenizer({});
  auto raw = trl::Tokenizer::load(write_tokenizer(json, {{"clean_up_tokenization_spaces", false}}));
  auto clean = trl::Tokenizer::load(write_tokenizer(json, {{"clean_up_tokenization_spaces", true}}));
  const std::string text = "Hi , it 's me . Don 't !";
  EXPECT_EQ(raw->decode(raw->encode(text)), text);
  EXPECT_EQ(clean->decode(clean->encode(text)), "Hi, it's me. Don 't!");  // transformers' rules, in order
}

TEST(BpeTokenizer, DecodeSkipsUnknownIdsAndRefusesNegativeOnes) {
  auto tok = trl::Tokenizer::load(write_tokenizer(tiny_tokenizer({})));
  EXPECT_EQ(tok->vocab_size(), 256);
  EXPECT_EQ(tok->decode({'a', 100000, 'b'}), "ab");  // e.g. a padded embedding row: skipped as HF does
  try {
    tok->decode({'a', -100});
    FAIL() << "expected DataError";
  } catch (const trl::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("-100"), std::string::npos) << e.what();
  }
}

std::string load_error(const nlohmann::json& json, const nlohmann::json& config = nlohmann::json::object()) {
  try {
    trl::Tokenizer::load(write_tokenizer(json, config));
  } catch (const trl::ModelError& e) {
    return e.what();
  }
  return "(no error)";
}

void expect_contains(const std::string& text, const std::vector<std::string>& parts) {
  for (const auto& part : parts) EXPECT_NE(text.find(part), std::string::npos) << "missing \"" << part << "\" in: " << text;
}

TEST(BpeTokenizerErrors, RefusesUnigramModels) {
  nlohmann::json json = tiny_tokenizer({});
  json["model"] = {{"type", "Unigram"}, {"vocab", nlohmann::json::array()}};
  expect_contains(load_error(json), {"tokenizer.json: model.type", "Unigram"});
}

TEST(BpeTokenizerErrors, RefusesUnsupportedPreTokenizer) {
  nlohmann::json json = tiny_tokenizer({});
  json["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "_"}};
  expect_contains(load_error(json), {"tokenizer.json: pre_tokenizer", "Metaspace"});
}

TEST(BpeTokenizerErrors, RefusesUnsupportedNormalizer) {
  nlohmann::json json = tiny_tokenizer({});
  json["normalizer"] = {{"type", "Lowercase"}};
  expect_contains(load_error(json), {"tokenizer.json: normalizer", "Lowercase"});
}

TEST(BpeTokenizerErrors, RefusesRegexWordBoundaries) {
  nlohmann::json json = tiny_tokenizer({});
  json["pre_tokenizer"] = {{"type", "Sequence"},
                           {"pretokenizers",
                            {{{"type", "Split"}, {"pattern", {{"Regex", "\\b\\w+"}}}, {"behavior", "Isolated"}, {"invert", false}},
                             {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  expect_contains(load_error(json), {"pre_tokenizer", "\\b is not supported"});
}

TEST(BpeTokenizerErrors, RefusesMergesOutsideTheVocabulary) {
  nlohmann::json json = tiny_tokenizer({{"a", "b"}});
  json["model"]["merges"].push_back(tokenizer_test::symbols("x") + " " + tokenizer_test::symbols("yz"));
  expect_contains(load_error(json), {"model.merges[1]", "not in model.vocab"});
}

TEST(BpeTokenizerErrors, RefusesAVocabularyWithoutAllByteSymbols) {
  nlohmann::json json = tiny_tokenizer({});
  json["model"]["vocab"].erase(tokenizer_test::symbols(" "));
  expect_contains(load_error(json), {"model.vocab", "byte 32"});
}

TEST(BpeTokenizerErrors, RefusesByteFallbackAndDropout) {
  nlohmann::json json = tiny_tokenizer({});
  json["model"]["byte_fallback"] = true;
  expect_contains(load_error(json), {"model", "byte_fallback"});
  json = tiny_tokenizer({});
  json["model"]["dropout"] = 0.1;
  expect_contains(load_error(json), {"model", "dropout"});
}

TEST(BpeTokenizerErrors, RefusesIdsFarAboveTheVocabulary) {
  // The tables are indexed by id: one stray id would allocate gigabytes (found by the tokenizer_json fuzzer).
  nlohmann::json json = tiny_tokenizer({});
  json["model"]["vocab"]["zz"] = 1444444405;
  expect_contains(load_error(json), {"tokenizer.json", "the largest id is 1444444405", "unused ids"});
  json = tiny_tokenizer({});
  json["added_tokens"] = {{{"id", 2000000000}, {"content", "<x>"}, {"special", true}}};
  expect_contains(load_error(json), {"tokenizer.json", "the largest id is 2000000000"});
  // A gap of a few ids between the vocabulary and the added tokens is what real tokenizers have.
  json = tiny_tokenizer({});
  json["added_tokens"] = {{{"id", json["model"]["vocab"].size() + 20}, {"content", "<x>"}, {"special", true}}};
  EXPECT_NO_THROW(trl::Tokenizer::load(write_tokenizer(json)));
}

TEST(BpeTokenizerErrors, RefusesConfigTokenMissingFromTheVocabulary) {
  expect_contains(load_error(tiny_tokenizer({}), {{"eos_token", "</s>"}}),
                  {"tokenizer_config.json: eos_token", "\"</s>\" is not a token"});
}

TEST(BpeTokenizerErrors, NamesTheMissingOrBrokenFile) {
  const std::string dir = tokenizer_test::scratch_dir();
  tokenizer_test::write_text(dir + "/tokenizer.json", "{\"model\": ");
  try {
    trl::Tokenizer::load(dir);
    FAIL() << "expected ModelError";
  } catch (const trl::ModelError& e) {
    expect_contains(e.what(), {"tokenizer.json", "not valid JSON"});
  }
  std::filesystem::remove(dir + "/tokenizer.json");
  try {
    trl::Tokenizer::load(dir);
    FAIL() << "expected ModelError";
  } catch (const trl::ModelError& e) {
    expect_contains(e.what(), {"tokenizer.json", "cannot open"});
  }
}

TEST(BpeTokenizerErrors, RefusesInvalidUtf8Input) {
  auto tok = trl::Tokenizer::load(write_tokenizer(tiny_tokenizer({})));
  try {
    tok->encode("ok\xC3(");
    FAIL() << "expected DataError";
  } catch (const trl::DataError& e) {
    expect_contains(e.what(), {"not valid UTF-8", "0xc3", "offset 2"});
  }
}

}  // namespace
