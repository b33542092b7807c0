// The whole data path with the real built-in byte tokenizer: file → rows → tokenized pairs → batch, for the
// four formats of spec §1.2 (§5 item 6) and for the bundled demo data in examples/data.
// Byte tokenizer ids: 0..255 the bytes, 256 <|endoftext|> (EOS, pad), 257 <|im_start|>, 258 <|im_end|>.
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "trl/sdk/data/dataset.h"
#include "trl/sdk/data/preference.h"
#include "trl/sdk/tokenizer/tokenizer.h"

namespace {

using Ids = std::vector<int64_t>;
constexpr int64_t kEos = 256, kImStart = 257, kImEnd = 258;

std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "trl_pipeline_" + std::to_string(::getpid()) + "_" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

Ids bytes(const std::string& s) { return Ids(s.begin(), s.end()); }

Ids cat(std::initializer_list<Ids> parts) {
  Ids out;
  for (const Ids& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// ChatML, written out from its definition: <|im_start|>{role}\n{content}<|im_end|>\n per message.
Ids chatml_turn(const std::string& role, const std::string& content) {
  return cat({{kImStart}, bytes(role + "\n" + content), {kImEnd}, bytes("\n")});
}

std::vector<trl::TokenizedPair> load_and_tokenize(const std::string& path, int64_t* dropped = nullptr) {
  const std::unique_ptr<trl::Tokenizer> tok = trl::Tokenizer::byte_level();
  return trl::tokenize_preferences(trl::load_preference_dataset(path), *tok, trl::PreferenceTokenizeOptions{},
                                   dropped);
}

const char* kSkyChosen = "[{\"role\": \"user\", \"content\": \"Sky?\"}, {\"role\": \"assistant\", \"content\": \"Blue.\"}]";
const char* kSkyRejected =
    "[{\"role\": \"user\", \"content\": \"Sky?\"}, {\"role\": \"assistant\", \"content\": \"Green.\"}]";

TEST(PreferencePipeline, StandardExplicit) {
  const auto pairs =
      load_and_tokenize(write_file("se.jsonl", "{\"prompt\": \"Sky?\", \"chosen\": \" Blue.\", \"rejected\": \" Green.\"}\n"));
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(pairs[0].prompt_ids, bytes("Sky?"));
  EXPECT_EQ(pairs[0].chosen_ids, cat({bytes(" Blue."), {kEos}}));
  EXPECT_EQ(pairs[0].rejected_ids, cat({bytes(" Green."), {kEos}}));
}

TEST(PreferencePipeline, StandardImplicit) {
  const auto pairs = load_and_tokenize(write_file("si.jsonl", "{\"chosen\": \"Sky? Blue.\", \"rejected\": \"Sky? Green.\"}\n"));
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(pairs[0].prompt_ids, bytes("Sky?"));
  EXPECT_EQ(pairs[0].chosen_ids, cat({bytes(" Blue."), {kEos}}));
  EXPECT_EQ(pairs[0].rejected_ids, cat({bytes(" Green."), {kEos}}));
}

TEST(PreferencePipeline, ConversationalExplicit) {
  const auto pairs = load_and_tokenize(write_file(
      "ce.jsonl", "{\"prompt\": [{\"role\": \"user\", \"content\": \"Sky?\"}], "
                  "\"chosen\": [{\"role\": \"assistant\", \"content\": \"Blue.\"}], "
                  "\"rejected\": [{\"role\": \"assistant\", \"content\": \"Green.\"}]}\n"));
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(pairs[0].prompt_ids, cat({chatml_turn("user", "Sky?"), {kImStart}, bytes("assistant\n")}));
  EXPECT_EQ(pairs[0].chosen_ids, cat({bytes("Blue."), {kImEnd}, bytes("\n")}));
  EXPECT_EQ(pairs[0].rejected_ids, cat({bytes("Green."), {kImEnd}, bytes("\n")}));
}

TEST(PreferencePipeline, ConversationalImplicit) {
  const auto pairs = load_and_tokenize(write_file(
      "ci.jsonl", std::string("{\"chosen\": ") + kSkyChosen + ", \"rejected\": " + kSkyRejected + "}\n"));
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(pairs[0].prompt_ids, cat({chatml_turn("user", "Sky?"), {kImStart}, bytes("assistant\n")}));
  EXPECT_EQ(pairs[0].chosen_ids, cat({bytes("Blue."), {kImEnd}, bytes("\n")}));
  EXPECT_EQ(pairs[0].rejected_ids, cat({bytes("Green."), {kImEnd}, bytes("\n")}));
}

TEST(PreferencePipeline, CollatesWithTheTokenizersPadId) {
  const std::unique_ptr<trl::Tokenizer> tok = trl::Tokenizer::byte_level();
  const auto pairs = load_and_tokenize(write_file("pad.jsonl", "{\"prompt\": \"Q\", \"chosen\": \"ab\", \"rejected\": \"c\"}\n"));
  const trl::PreferenceBatch batch = trl::collate_preferences({&pairs[0]}, *tok->pad_token_id(), std::nullopt,
                                                              trl::TruncationMode::keep_start);
  // [Q a b EOS] and [Q c EOS pad]: the pad id is the EOS id, told apart only by the attention mask.
  EXPECT_TRUE(at::equal(batch.input_ids, at::tensor({int64_t{'Q'}, int64_t{'a'}, int64_t{'b'}, kEos, int64_t{'Q'},
                                                     int64_t{'c'}, kEos, kEos}).view({2, 4})))
      << batch.input_ids;
  EXPECT_TRUE(at::equal(batch.attention_mask, at::tensor({1, 1, 1, 1, 1, 1, 1, 0}, at::kLong).view({2, 4})));
  EXPECT_TRUE(at::equal(batch.completion_mask, at::tensor({0, 1, 1, 1, 0, 1, 1, 0}, at::kLong).view({2, 4})));
}

// --- bundled demo data (examples/data, written by examples/data/make_prefs.py) -----------------------------

std::string example(const std::string& name) { return std::string(TRL_TEST_DATA_DIR) + "/../examples/data/" + name; }

TEST(DemoData, TrainAndEvalAreShortStandardPairs) {
  for (const auto& [name, count] : {std::pair<std::string, size_t>{"prefs_train.jsonl", 512}, {"prefs_eval.jsonl", 48}}) {
    const std::vector<trl::PreferenceRow> rows = trl::load_preference_dataset(example(name));
    ASSERT_EQ(rows.size(), count) << name;
    int64_t dropped = -1;
    const auto pairs = load_and_tokenize(example(name), &dropped);
    EXPECT_EQ(dropped, 0);
    ASSERT_EQ(pairs.size(), count);
    for (size_t i = 0; i < pairs.size(); ++i) {
      const trl::TokenizedPair& p = pairs[i];
      EXPECT_FALSE(rows[i].prompt.is_chat);
      EXPECT_NE(rows[i].chosen.text, rows[i].rejected.text) << p.source;
      // Short sequences keep demo steps fast: prompt+completion under 48 bytes, plus the EOS token.
      EXPECT_LE(p.prompt_ids.size() + p.chosen_ids.size(), 48u) << p.source;
      EXPECT_LE(p.prompt_ids.size() + p.rejected_ids.size(), 48u) << p.source;
      EXPECT_EQ(p.chosen_ids.back(), kEos);
      EXPECT_EQ(p.rejected_ids.back(), kEos);
    }
  }
}

TEST(DemoData, EvalRequestsAreUnseenInTraining) {
  std::vector<std::string> train_prompts;
  for (const trl::PreferenceRow& row : trl::load_preference_dataset(example("prefs_train.jsonl")))
    train_prompts.push_back(row.prompt.text);
  for (const trl::PreferenceRow& row : trl::load_preference_dataset(example("prefs_eval.jsonl")))
    EXPECT_EQ(std::find(train_prompts.begin(), train_prompts.end(), row.prompt.text), train_prompts.end())
        << row.source;
}

TEST(DemoData, ChatFileIsConversational) {
  const std::vector<trl::PreferenceRow> rows = trl::load_preference_dataset(example("prefs_chat.jsonl"));
  ASSERT_EQ(rows.size(), 20u);
  for (const trl::PreferenceRow& row : rows) {
    EXPECT_TRUE(row.prompt.is_chat);
    EXPECT_EQ(row.prompt.messages.back().role, "user");
    ASSERT_EQ(row.chosen.messages.size(), 1u);
    EXPECT_EQ(row.chosen.messages[0].role, "assistant");
  }
  const auto pairs = load_and_tokenize(example("prefs_chat.jsonl"));
  ASSERT_EQ(pairs.size(), 20u);
  for (const trl::TokenizedPair& p : pairs) {
    EXPECT_EQ(Ids(p.prompt_ids.end() - 11, p.prompt_ids.end()), cat({{kImStart}, bytes("assistant\n")}));
    EXPECT_EQ(Ids(p.chosen_ids.end() - 2, p.chosen_ids.end()), (Ids{kImEnd, '\n'}));
  }
}

}  // namespace
