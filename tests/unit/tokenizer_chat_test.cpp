// Chat templates through the Tokenizer. Expected strings were checked with Python's Jinja2 3.1
// (trim_blocks, lstrip_blocks: how transformers renders), using the real Qwen2.5 and Qwen3 templates of
// tests/tokenizer-parity/templates; the full parity test is jinja_parity_test.cpp.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer_test_support.h"
#include "trl/sdk/data/dataset.h"
#include "trl/sdk/data/preference.h"
#include "trl/sdk/error.h"
#include "trl/sdk/tokenizer/tokenizer.h"

namespace {

using Messages = std::vector<trl::Message>;

// The byte tokenizer's files with tokenizer_config.json's chat_template replaced.
std::unique_ptr<trl::Tokenizer> with_template(const std::string& chat_template) {
  const std::string dir = tokenizer_test::scratch_dir() + "/model";
  trl::Tokenizer::byte_level()->save(dir);
  nlohmann::json config = nlohmann::json::parse(tokenizer_test::read_text(dir + "/tokenizer_config.json"));
  config["chat_template"] = chat_template;
  tokenizer_test::write_text(dir + "/tokenizer_config.json", config.dump());
  return trl::Tokenizer::load(dir);
}

std::string template_file(const std::string& name) {
  return tokenizer_test::read_text(std::string(TRL_TEST_DATA_DIR) + "/tokenizer-parity/templates/" + name);
}

TEST(ChatTemplate, ByteTokenizerRendersPlainChatML) {
  auto tok = trl::Tokenizer::byte_level();
  const Messages chat = {{"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello"}};
  EXPECT_EQ(tok->apply_chat_template(chat, false),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>\n");
  EXPECT_EQ(tok->apply_chat_template({{"user", "Hi"}}, true), "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(tok->apply_chat_template({}, true), "<|im_start|>assistant\n");
}

TEST(ChatTemplate, Qwen25InsertsItsDefaultSystemMessage) {
  auto tok = with_template(template_file("qwen2_5.jinja"));
  EXPECT_EQ(tok->apply_chat_template({{"user", "Hi"}}, true),
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(tok->apply_chat_template({{"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello"}}, false),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>\n");
}

TEST(ChatTemplate, Qwen25WrapsToolResultsInOneUserTurn) {
  auto tok = with_template(template_file("qwen2_5.jinja"));
  EXPECT_EQ(tok->apply_chat_template({{"user", "q"}, {"assistant", ""}, {"tool", "r1"}, {"tool", "r2"}}, true),
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
            "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n<|im_end|>\n"
            "<|im_start|>user\n<tool_response>\nr1\n</tool_response>\n<tool_response>\nr2\n</tool_response><|im_end|>\n"
            "<|im_start|>assistant\n");
}

TEST(ChatTemplate, Qwen3HasNoDefaultSystemAndHonoursEnableThinking) {
  auto tok = with_template(template_file("qwen3.jinja"));
  EXPECT_EQ(tok->apply_chat_template({{"user", "Hi"}}, true), "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(tok->apply_chat_template({{"user", "Hi"}}, true, {{"enable_thinking", false}}),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
  EXPECT_EQ(tok->apply_chat_template({{"user", "Hi"}}, true, {{"enable_thinking", true}}),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatTemplate, Qwen3KeepsReasoningOnlyAfterTheLastQuery) {
  auto tok = with_template(template_file("qwen3.jinja"));
  const Messages chat = {{"user", "Q1"}, {"assistant", "<think>\nr1\n</think>\n\nA1"}, {"user", "Q2"},
                         {"assistant", "<think>r2</think>A2"}};
  EXPECT_EQ(tok->apply_chat_template(chat, false),
            "<|im_start|>user\nQ1<|im_end|>\n<|im_start|>assistant\nA1<|im_end|>\n<|im_start|>user\nQ2<|im_end|>\n"
            "<|im_start|>assistant\n<think>\nr2\n</think>\n\nA2<|im_end|>\n");
}

TEST(ChatTemplate, Qwen3FinalAnswerGetsAnEmptyThinkBlockAndKeepsItsSpaces) {
  // content.lstrip('\n') strips newlines only (Python's Jinja2; @huggingface/jinja strips spaces too).
  auto tok = with_template(template_file("qwen3.jinja"));
  EXPECT_EQ(tok->apply_chat_template({{"system", "S"}, {"user", "Q"}, {"assistant", "  spaced  "}}, false),
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
            "  spaced  <|im_end|>\n");
}

TEST(ChatTemplate, LlamaTemplateFailsOnTheBosTokenTheByteTokenizerLacks) {
  // Llama-3's template computes bos_token + content; without a BOS token jinja2 fails on the undefined value.
  auto tok = with_template(tokenizer_test::read_text(std::string(TRL_TEST_DATA_DIR) + "/chat_templates/llama3.jinja"));
  try {
    tok->apply_chat_template({{"user", "Hi"}}, true);
    FAIL() << "expected DataError";
  } catch (const trl::DataError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("/model/tokenizer_config.json: chat template line 3:89: 'bos_token' is undefined"),
              std::string::npos) << message;
  }
}

TEST(ChatTemplate, Qwen25RendersToolsAndDropsUnknownRolesAsJinja2Does) {
  // Expected strings: Python's jinja2 3.1.2 configured as transformers (tests/chat_templates/render_reference.py).
  auto tok = with_template(template_file("qwen2_5.jinja"));
  // JSON messages and kwargs keep their key order (nlohmann::json kwargs would sort "type" after "function").
  const nlohmann::ordered_json tools =
      nlohmann::ordered_json::parse(R"([{"type": "function", "function": {"name": "f", "parameters": {}}}])");
  const nlohmann::ordered_json chat = nlohmann::ordered_json::parse(R"([{"role": "user", "content": "Hi"}])");
  EXPECT_EQ(tok->apply_chat_template_json(chat, true, {{"tools", tools}}),
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.\n\n# Tools\n\nYou may "
            "call one or more functions to assist with the user query.\n\nYou are provided with function signatures within "
            "<tools></tools> XML tags:\n<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"f\", \"parameters\": "
            "{}}}\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
            "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": "
            "<args-json-object>}\n</tool_call><|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(tok->apply_chat_template({{"user", "Hi"}, {"developer", "x"}}, true),
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}

// A preference dataset's `tools` column goes to the template in the file's key order ({"type", "function"},
// {"name", "description", "parameters"}: not alphabetical), as Python's json.loads + jinja2 keep it. The
// expected prompt is jinja2's rendering of the same conversation and tools (tests/chat_templates/
// expected.json, case qwen2_5.jinja / "tools offered" / add_generation_prompt true, render_reference.py).
TEST(ChatTemplate, DatasetToolsColumnKeepsItsKeyOrderAsJinja2) {
  const std::string dir = std::string(TRL_TEST_DATA_DIR) + "/chat_templates/";
  const auto spec = nlohmann::ordered_json::parse(tokenizer_test::read_text(dir + "conversations.json"));
  const auto expected = nlohmann::ordered_json::parse(tokenizer_test::read_text(dir + "expected.json"));
  nlohmann::ordered_json conversation, reference;
  for (const auto& c : spec.at("conversations"))
    if (c.at("name") == "tools offered") conversation = c;
  for (const auto& c : expected.at("cases"))
    if (c.at("template") == "qwen2_5.jinja" && c.at("conversation") == "tools offered" &&
        c.at("add_generation_prompt") == true)
      reference = c;
  ASSERT_TRUE(conversation.is_object() && reference.contains("text"));
  const nlohmann::ordered_json& tools = conversation.at("kwargs").at("tools");
  ASSERT_EQ(tools.at(0).begin().key(), "type");  // the point of the test: "type" before "function"
  // Row 1: tools as a list; row 2: tools as a JSON string (both spec §1.2), with chat_template_kwargs.
  nlohmann::ordered_json row = {{"prompt", conversation.at("messages")},
                                {"chosen", {{{"role", "assistant"}, {"content", "Sunny."}}}},
                                {"rejected", {{{"role", "assistant"}, {"content", "Rainy."}}}},
                                {"tools", tools}};
  std::string jsonl = row.dump() + "\n";
  row["tools"] = tools.dump();
  row["chat_template_kwargs"] = {{"unused_z", 1}, {"unused_a", 2}};
  jsonl += row.dump() + "\n";
  const std::string path = tokenizer_test::scratch_dir() + "/tools.jsonl";
  tokenizer_test::write_text(path, jsonl);

  const std::vector<trl::PreferenceRow> rows = trl::load_preference_dataset(path);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].tools.dump(), tools.dump());
  EXPECT_EQ(rows[1].chat_template_kwargs.begin().key(), "unused_z");
  auto tok = with_template(tokenizer_test::read_text(dir + "qwen2_5.jinja"));
  trl::PreferenceTokenizeOptions options;
  options.max_length = std::nullopt;
  const std::vector<trl::TokenizedPair> pairs = trl::tokenize_preferences(rows, *tok, options);
  ASSERT_EQ(pairs.size(), 2u);
  const std::string want = reference.at("text").get<std::string>();
  ASSERT_NE(want.find("{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\""),
            std::string::npos);
  for (const trl::TokenizedPair& pair : pairs) {
    EXPECT_EQ(tok->decode(pair.prompt_ids), want) << pair.source;
    EXPECT_EQ(tok->decode(pair.chosen_ids), "Sunny.<|im_end|>\n") << pair.source;
  }
}

TEST(ChatTemplate, EmptyConversationFailsWhereTheTemplateReadsTheFirstMessage) {
  auto tok = with_template(template_file("qwen2_5.jinja"));
  try {
    tok->apply_chat_template({}, true);
    FAIL() << "expected DataError";
  } catch (const trl::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("list object has no element 0"), std::string::npos) << e.what();
  }
}

TEST(ChatTemplate, UnsupportedTemplateIsAConfigErrorNamingTheConfigAndLine) {
  auto tok = with_template("{{ bos_token }}\n{% macro f() %}x{% endmacro %}");
  try {
    tok->apply_chat_template({{"user", "Hi"}}, true);
    FAIL() << "expected ConfigError";
  } catch (const trl::ConfigError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("/model/tokenizer_config.json: chat_template: line 2:1: the 'macro' tag is not supported"),
              std::string::npos) << message;
  }
}

TEST(ChatTemplate, ListFormUsesTheDefaultTemplate) {
  const std::string dir = tokenizer_test::scratch_dir() + "/model";
  trl::Tokenizer::byte_level()->save(dir);
  nlohmann::json config = nlohmann::json::parse(tokenizer_test::read_text(dir + "/tokenizer_config.json"));
  config["chat_template"] = nlohmann::json::array({{{"name", "tool_use"}, {"template", "TOOLS"}},
                                                   {{"name", "default"}, {"template", "{{ messages[0].content|upper }}"}}});
  tokenizer_test::write_text(dir + "/tokenizer_config.json", config.dump());
  EXPECT_EQ(trl::Tokenizer::load(dir)->apply_chat_template({{"user", "hi"}}, false), "HI");
}

TEST(ChatTemplate, KwargsMustBeAnObject) {
  auto tok = trl::Tokenizer::byte_level();
  EXPECT_THROW(tok->apply_chat_template({{"user", "Hi"}}, true, nlohmann::json::array()), trl::ConfigError);
}

TEST(ChatTemplate, JsonMessagesCarryReasoningContent) {
  auto tok = with_template(template_file("qwen3.jinja"));
  const nlohmann::ordered_json chat = nlohmann::ordered_json::parse(
      R"([{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A", "reasoning_content": "R"}])");
  EXPECT_EQ(tok->apply_chat_template_json(chat, false),
            "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>\nR\n</think>\n\nA<|im_end|>\n");
}

}  // namespace
