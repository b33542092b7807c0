// tokenize_preferences (spec §1.3 items 1-5, §1.9 legacy limits, §5 items 3 and 9), with a fake tokenizer
// whose ids are easy to write down, and once with the built-in byte tokenizer.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "trl/sdk/data/preference.h"
#include "trl/sdk/error.h"
#include "trl/sdk/log.h"
#include "trl/sdk/tokenizer/tokenizer.h"

namespace {

using Ids = std::vector<int64_t>;
using trl::TextOrChat;

// One id per byte (0..255), then specials: <|endoftext|> 256 (EOS), <|im_start|> 257, <|im_end|> 258,
// <s> 259 (BOS, added by encode(add_special_tokens) only when `add_bos`). With `merge_xy`, the byte pair
// "xy" is one token 260, so a prompt ending in 'x' is not a token prefix of prompt+"y...".
class FakeTokenizer : public trl::Tokenizer {
 public:
  explicit FakeTokenizer(bool add_bos = false, bool merge_xy = false, bool has_eos = true)
      : add_bos_(add_bos), merge_xy_(merge_xy) {
    if (has_eos) eos_token_ = "<|endoftext|>";
    if (add_bos) bos_token_ = "<s>";
    source_ = "fake";
  }

  /// Makes apply_chat_template render Qwen3's real template, which reads enable_thinking.
  void use_qwen3_template() {
    std::ifstream in(std::string(TRL_TEST_DATA_DIR) + "/chat_templates/qwen3.jinja", std::ios::binary);
    chat_template_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  Ids encode(const std::string& text, bool add_special_tokens) const override {
    Ids ids;
    if (add_special_tokens && add_bos_) ids.push_back(kBos);
    for (size_t i = 0; i < text.size();) {
      bool special = false;
      for (int64_t id = 256; id < 260; ++id) {
        const std::string& name = kSpecials[id - 256];
        if (text.compare(i, name.size(), name) == 0) {
          ids.push_back(id);
          i += name.size();
          special = true;
          break;
        }
      }
      if (special) continue;
      if (merge_xy_ && text.compare(i, 2, "xy") == 0) {
        ids.push_back(260);
        i += 2;
        continue;
      }
      ids.push_back(static_cast<unsigned char>(text[i]));
      ++i;
    }
    return ids;
  }

  std::string decode(const Ids& ids, bool skip_special_tokens) const override {
    std::string out;
    for (int64_t id : ids) {
      if (id < 256) out += static_cast<char>(id);
      else if (id == 260) out += "xy";
      else if (!skip_special_tokens) out += kSpecials[id - 256];
    }
    return out;
  }

  int64_t vocab_size() const override { return 261; }

  std::optional<int64_t> token_to_id(const std::string& token) const override {
    for (int64_t id = 256; id < 260; ++id)
      if (token == kSpecials[id - 256]) return id;
    if (token.size() == 1) return static_cast<unsigned char>(token[0]);
    return std::nullopt;
  }

  std::optional<std::string> id_to_token(int64_t id) const override {
    if (id < 0 || id > 260) return std::nullopt;
    return decode({id}, false);
  }

  bool is_special(int64_t id) const override { return id >= 256 && id < 260; }

  void save(const std::string&) const override { throw std::logic_error("FakeTokenizer is never saved"); }

  static constexpr int64_t kEos = 256;
  static constexpr int64_t kXy = 260;  // the merged "xy" with merge_xy
  static constexpr int64_t kBos = 259;

 private:
  static inline const std::string kSpecials[4] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<s>"};
  bool add_bos_;
  bool merge_xy_;
};

Ids bytes(const std::string& s) { return Ids(s.begin(), s.end()); }

Ids cat(Ids a, const Ids& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

trl::PreferenceRow standard_row(const std::string& prompt, const std::string& chosen, const std::string& rejected,
                                const std::string& source = "d.jsonl:1") {
  trl::PreferenceRow row;
  row.prompt = TextOrChat::of_text(prompt);
  row.chosen = TextOrChat::of_text(chosen);
  row.rejected = TextOrChat::of_text(rejected);
  row.source = source;
  return row;
}

trl::PreferenceTokenizeOptions no_limit() {
  trl::PreferenceTokenizeOptions options;
  options.max_length = std::nullopt;
  return options;
}

TEST(TokenizePreferences, AppendsEosTextToStandardCompletions) {
  const FakeTokenizer tok;
  const auto pairs = trl::tokenize_preferences({standard_row("Hi", " there", " bye")}, tok, no_limit());
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(pairs[0].prompt_ids, bytes("Hi"));
  EXPECT_EQ(pairs[0].chosen_ids, cat(bytes(" there"), {FakeTokenizer::kEos}));
  EXPECT_EQ(pairs[0].rejected_ids, cat(bytes(" bye"), {FakeTokenizer::kEos}));
  EXPECT_EQ(pairs[0].source, "d.jsonl:1");
}

TEST(TokenizePreferences, DoesNotDoubleAnEosAlreadyThere) {
  const FakeTokenizer tok;
  const auto pairs =
      trl::tokenize_preferences({standard_row("Hi", " there<|endoftext|>", " bye")}, tok, no_limit());
  EXPECT_EQ(pairs[0].chosen_ids, cat(bytes(" there"), {FakeTokenizer::kEos}));
  EXPECT_EQ(pairs[0].rejected_ids, cat(bytes(" bye"), {FakeTokenizer::kEos}));
}

TEST(TokenizePreferences, BosSitsAtTheStartOfThePromptOnly) {
  const FakeTokenizer tok(/*add_bos=*/true);
  const auto pairs = trl::tokenize_preferences({standard_row("Hi", " a", " b")}, tok, no_limit());
  EXPECT_EQ(pairs[0].prompt_ids, cat({FakeTokenizer::kBos}, bytes("Hi")));
  EXPECT_EQ(pairs[0].chosen_ids, cat(bytes(" a"), {FakeTokenizer::kEos}));
  // An empty prompt still tokenizes to the BOS, so the completion never starts the sequence.
  const auto empty = trl::tokenize_preferences({standard_row("", "a", "b")}, tok, no_limit());
  EXPECT_EQ(empty[0].prompt_ids, Ids{FakeTokenizer::kBos});
}

TEST(TokenizePreferences, DropsPairsWhosePromptFillsMaxLength) {
  // TRL's test_fully_truncated_completion_examples_dropped (spec §5 item 3): max_length 6, keep_start.
  const FakeTokenizer tok;
  trl::PreferenceTokenizeOptions options;
  options.max_length = 6;
  int64_t dropped = -1;
  const auto pairs = trl::tokenize_preferences(
      {standard_row("Hi", " there", " bye", "d.jsonl:1"),
       standard_row("This is a very long prompt that fills up the whole max_length budget on its own", " yes", " no",
                    "d.jsonl:2"),
       standard_row("Sixsix", " y", " n", "d.jsonl:3"), standard_row("Five5", " y", " n", "d.jsonl:4")},
      tok, options, &dropped);
  EXPECT_EQ(dropped, 2);
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[0].prompt_ids, tok.encode("Hi", true));
  EXPECT_EQ(pairs[1].source, "d.jsonl:4");
}

TEST(TokenizePreferences, KeepEndDropsNothing) {
  const FakeTokenizer tok;
  trl::PreferenceTokenizeOptions options;
  options.max_length = 3;
  options.truncation_mode = trl::TruncationMode::keep_end;
  int64_t dropped = -1;
  const auto pairs = trl::tokenize_preferences({standard_row("long prompt", " a", " b")}, tok, options, &dropped);
  EXPECT_EQ(dropped, 0);
  EXPECT_EQ(pairs.size(), 1u);
}

TEST(TokenizePreferences, DroppingEveryPairIsADataError) {
  const FakeTokenizer tok;
  trl::PreferenceTokenizeOptions options;
  options.max_length = 2;
  try {
    trl::tokenize_preferences({standard_row("abc", "x", "y", "d.jsonl:1"), standard_row("ab", "x", "y", "d.jsonl:2")},
                              tok, options);
    FAIL() << "expected a DataError";
  } catch (const trl::DataError& e) {
    EXPECT_EQ(std::string(e.what()),
              "d.jsonl: all 2 preference pairs were dropped: every prompt alone has >= max_length (2) tokens, so "
              "keep_start truncation would leave no completion token (first: d.jsonl:1); raise max_length or shorten "
              "the prompts");
  }
}

TEST(TokenizePreferences, LegacyLimitsKeepThePromptEndAndTheCompletionStart) {
  // Spec §1.9: prompt_ids[-max_prompt_length:], completion ids[:max_completion_length].
  const FakeTokenizer tok;
  trl::PreferenceTokenizeOptions options = no_limit();
  options.max_prompt_length = 3;
  options.max_completion_length = 2;
  const auto pairs = trl::tokenize_preferences({standard_row("abcdef", "XYZ", "Q")}, tok, options);
  EXPECT_EQ(pairs[0].prompt_ids, bytes("def"));
  EXPECT_EQ(pairs[0].chosen_ids, bytes("XY"));
  EXPECT_EQ(pairs[0].rejected_ids, cat(bytes("Q"), {FakeTokenizer::kEos}));
}

TEST(TokenizePreferences, LegacyPromptLimitAppliesBeforeTheDropRule) {
  const FakeTokenizer tok;
  trl::PreferenceTokenizeOptions options;
  options.max_length = 4;
  options.max_prompt_length = 3;
  int64_t dropped = -1;
  const auto pairs = trl::tokenize_preferences({standard_row("abcdefgh", "x", "y")}, tok, options, &dropped);
  EXPECT_EQ(dropped, 0);
  EXPECT_EQ(pairs[0].prompt_ids, bytes("fgh"));
}

TEST(TokenizePreferences, RefusesLimitsBelowOne) {
  const FakeTokenizer tok;
  const std::vector<trl::PreferenceRow> rows = {standard_row("a", "b", "c")};
  trl::PreferenceTokenizeOptions options;
  options.max_length = 0;
  try {
    trl::tokenize_preferences(rows, tok, options);
    FAIL() << "expected a ConfigError";
  } catch (const trl::ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "max_length: expected an integer >= 1 or null, got 0");
  }
  options = no_limit();
  options.max_completion_length = -2;
  try {
    trl::tokenize_preferences(rows, tok, options);
    FAIL() << "expected a ConfigError";
  } catch (const trl::ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "max_completion_length: expected an integer >= 1 or null, got -2");
  }
}

TEST(TokenizePreferences, StandardDataNeedsAnEosToken) {
  const FakeTokenizer tok(/*add_bos=*/false, /*merge_xy=*/false, /*has_eos=*/false);
  try {
    trl::tokenize_preferences({standard_row("a", "b", "c")}, tok, no_limit());
    FAIL() << "expected a ModelError";
  } catch (const trl::ModelError& e) {
    EXPECT_THAT(std::string(e.what()), ::testing::HasSubstr("tokenizer: has no EOS token"));
  }
}

TEST(TokenizePreferences, SplitsWherePromptAndCompletionDivergeAndWarnsOnceWhenNotAPrefix) {
  const FakeTokenizer tok(/*add_bos=*/false, /*merge_xy=*/true);
  ::testing::internal::CaptureStderr();
  const auto pairs = trl::tokenize_preferences(
      {standard_row("ax", "yb", "zz", "d.jsonl:1"), standard_row("ab", "c", "d", "d.jsonl:2"),
       standard_row("qx", "y", "yy", "d.jsonl:3")},
      tok, no_limit());
  const std::string log = ::testing::internal::GetCapturedStderr();
  // "ax"+"yb<eos>" is a, xy, b, eos: the prompt [a, x] shares only [a] with it (2 tokens with prompt+rejected),
  // so TRL 1.16 keeps the prompt [a] and both completions start after it: [xy, b, eos] and [x, z, z, eos].
  EXPECT_EQ(pairs[0].prompt_ids, bytes("a"));
  EXPECT_EQ(pairs[0].chosen_ids, (Ids{FakeTokenizer::kXy, 'b', FakeTokenizer::kEos}));
  EXPECT_EQ(pairs[0].rejected_ids, (Ids{'x', 'z', 'z', FakeTokenizer::kEos}));
  EXPECT_EQ(pairs[1].chosen_ids, (Ids{'c', FakeTokenizer::kEos}));
  EXPECT_THAT(log, ::testing::HasSubstr("2 of 3 preference pairs: the tokenized prompt is not a prefix of the "
                                        "tokenized prompt+completion (first at d.jsonl:1)"));
  EXPECT_EQ(log.find("preference pairs: the tokenized prompt"), log.rfind("preference pairs: the tokenized prompt"))
      << "warned more than once: " << log;
}

TEST(TokenizePreferences, PassesReferenceLogProbsThrough) {
  const FakeTokenizer tok;
  trl::PreferenceRow row = standard_row("a", "b", "c");
  row.ref_chosen_logps = -1.25;
  row.ref_rejected_logps = -3.5;
  const auto pairs = trl::tokenize_preferences({row}, tok, no_limit());
  EXPECT_EQ(pairs[0].ref_chosen_logps, std::optional<double>(-1.25));
  EXPECT_EQ(pairs[0].ref_rejected_logps, std::optional<double>(-3.5));
}

TEST(TokenizePreferences, EmptyInputGivesNoPairs) {
  const FakeTokenizer tok;
  int64_t dropped = -1;
  EXPECT_TRUE(trl::tokenize_preferences({}, tok, trl::PreferenceTokenizeOptions{}, &dropped).empty());
  EXPECT_EQ(dropped, 0);
}

TEST(TokenizePreferences, ManyRowsKeepTheirOrder) {
  // More rows than one parallel grain, so several threads may tokenize; the order must not change.
  const FakeTokenizer tok;
  std::vector<trl::PreferenceRow> rows;
  for (int i = 0; i < 500; ++i) rows.push_back(standard_row("p" + std::to_string(i), "c", "r"));
  const auto pairs = trl::tokenize_preferences(rows, tok, no_limit());
  ASSERT_EQ(pairs.size(), 500u);
  for (int i = 0; i < 500; ++i) EXPECT_EQ(pairs[i].prompt_ids, bytes("p" + std::to_string(i)));
}

// Conversational rows go through the tokenizer's chat template (its own tests check the rendering); here we
// check which renderings are used: generation prompt on the prompt only, no special tokens added, each row's
// own chat_template_kwargs (spec §1.3 item 3, §5 item 9).
TEST(TokenizePreferences, ConversationalRowsUseTheChatTemplate) {
  const FakeTokenizer tok(/*add_bos=*/true);
  trl::PreferenceRow row;
  row.prompt = TextOrChat::of_chat({{"system", "Be brief."}, {"user", "Hi"}});
  row.chosen = TextOrChat::of_chat({{"assistant", "Hello!"}});
  row.rejected = TextOrChat::of_chat({{"assistant", "Go away."}});
  row.chat_template_kwargs = {{"enable_thinking", false}};
  const auto pairs = trl::tokenize_preferences({row}, tok, no_limit());
  ASSERT_EQ(pairs.size(), 1u);

  const std::vector<trl::Message> full_chosen = {{"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello!"}};
  const Ids prompt = tok.encode(tok.apply_chat_template(row.prompt.messages, true, row.chat_template_kwargs), false);
  const Ids combined = tok.encode(tok.apply_chat_template(full_chosen, false, row.chat_template_kwargs), false);
  EXPECT_EQ(pairs[0].prompt_ids, prompt);
  EXPECT_NE(prompt.front(), FakeTokenizer::kBos) << "special tokens must not be added to a rendered template";
  ASSERT_GE(combined.size(), prompt.size());
  EXPECT_EQ(pairs[0].chosen_ids, Ids(combined.begin() + static_cast<std::ptrdiff_t>(prompt.size()), combined.end()));
  // No EOS text is appended to conversations: the template closes the turn.
  EXPECT_EQ(std::count(pairs[0].chosen_ids.begin(), pairs[0].chosen_ids.end(), FakeTokenizer::kEos),
            std::count(combined.begin(), combined.end(), FakeTokenizer::kEos));
  EXPECT_THAT(tok.decode(pairs[0].chosen_ids, false), ::testing::HasSubstr("Hello!"));
}

TEST(TokenizePreferences, EachRowUsesItsOwnChatTemplateKwargs) {
  // Spec §5 item 9, with Qwen3's enable_thinking standing in for TRL's test-only role_capital template.
  FakeTokenizer tok;
  tok.use_qwen3_template();
  std::vector<trl::PreferenceRow> rows(2);
  for (int i = 0; i < 2; ++i) {
    rows[i].prompt = TextOrChat::of_chat({{"user", "Hi"}});
    rows[i].chosen = TextOrChat::of_chat({{"assistant", "a"}});
    rows[i].rejected = TextOrChat::of_chat({{"assistant", "b"}});
    rows[i].chat_template_kwargs = {{"enable_thinking", i == 1}};
  }
  const auto pairs = trl::tokenize_preferences(rows, tok, no_limit());
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(tok.decode(pairs[0].prompt_ids, false),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
  EXPECT_EQ(tok.decode(pairs[1].prompt_ids, false), "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  for (int i = 0; i < 2; ++i)
    EXPECT_EQ(pairs[i].prompt_ids,
              tok.encode(tok.apply_chat_template(rows[i].prompt.messages, true, rows[i].chat_template_kwargs), false));
}

TEST(TruncationMode, ParsesAndRefuses) {
  EXPECT_EQ(trl::parse_truncation_mode("keep_start", "args.truncation_mode"), trl::TruncationMode::keep_start);
  EXPECT_EQ(trl::parse_truncation_mode("keep_end", "args.truncation_mode"), trl::TruncationMode::keep_end);
  EXPECT_STREQ(trl::truncation_mode_name(trl::TruncationMode::keep_end), "keep_end");
  try {
    trl::parse_truncation_mode("keep_middle", "args.truncation_mode");
    FAIL() << "expected a ConfigError";
  } catch (const trl::ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "args.truncation_mode: expected \"keep_start\" or \"keep_end\", got \"keep_middle\"");
  }
}

}  // namespace
