// Chat templates. Expected strings were worked out from each template's Jinja source and checked with
// Python's Jinja2 3.1 (trim_blocks, lstrip_blocks: how transformers renders), using the real Qwen2.5 and
// Qwen3 templates of tests/tokenizer-parity/templates.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer_test_support.h"
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

TEST(ChatTemplate, RefusesOtherTemplatesNamingTheTokenizer) {
  // Llama-3's template: not ChatML.
  auto tok = with_template(
      "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
      "message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{{ content }}{% endfor %}");
  try {
    tok->apply_chat_template({{"user", "Hi"}}, true);
    FAIL() << "expected ConfigError";
  } catch (const trl::ConfigError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("tokenizer.json"), std::string::npos) << message;
    EXPECT_NE(message.find("only plain ChatML and the Qwen2, Qwen2.5 and Qwen3 templates"), std::string::npos) << message;
  }
}

TEST(ChatTemplate, RefusesToolsAndUnknownRoles) {
  auto tok = with_template(template_file("qwen2_5.jinja"));
  EXPECT_THROW(tok->apply_chat_template({{"user", "Hi"}}, true, {{"tools", {{{"type", "function"}}}}}), trl::ConfigError);
  EXPECT_THROW(tok->apply_chat_template({{"user", "Hi"}, {"developer", "x"}}, true), trl::DataError);
  EXPECT_THROW(tok->apply_chat_template({}, true), trl::DataError);
}

}  // namespace
