// Chat-template parity: the real Qwen2.5, Qwen3, Llama-3/3.1/3.2 and Mistral v0.1/v0.3 templates
// (tests/chat_templates/*.jinja) rendered by trl-host's interpreter on the conversations of
// conversations.json must give exactly the strings Python's jinja2 gave (expected.json, written by
// render_reference.py with jinja2 configured as transformers configures it; strftime_now fixed to
// conversations.json's time), and fail where it failed: raise_exception with the same message, other
// errors (an undefined value used) as a DataError too.
#include <gtest/gtest.h>

#include <ctime>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "tokenizer/chat_template.h"
#include "trl/sdk/error.h"

namespace {

using Json = nlohmann::ordered_json;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string chat_templates_dir() { return std::string(TRL_TEST_DATA_DIR) + "/chat_templates/"; }

// "2026-03-07T14:05:09" as the broken-down local time strftime_now formats.
std::tm parse_fixed_now(const std::string& iso) {
  std::tm t{};
  std::istringstream in(iso);
  in >> std::get_time(&t, "%Y-%m-%dT%H:%M:%S");
  t.tm_isdst = -1;
  std::tm copy = t;
  std::mktime(&copy);  // fills in the weekday and the day of the year
  t.tm_wday = copy.tm_wday;
  t.tm_yday = copy.tm_yday;
  return t;
}

struct Outcome {
  bool failed = false;
  std::string text;   // the rendering, or the error message
};

Outcome render_case(const Json& c, const std::tm& now) {
  trl::tokenizer::ChatTemplateInputs inputs;
  inputs.add_generation_prompt = c.at("add_generation_prompt").get<bool>();
  inputs.kwargs = c.at("kwargs");
  const Json& special = c.at("special_tokens");
  if (special.contains("bos_token")) inputs.bos_token = special["bos_token"].get<std::string>();
  if (special.contains("eos_token")) inputs.eos_token = special["eos_token"].get<std::string>();
  if (special.contains("pad_token")) inputs.pad_token = special["pad_token"].get<std::string>();
  if (special.contains("unk_token")) inputs.unk_token = special["unk_token"].get<std::string>();
  inputs.now = [now] { return now; };
  const std::string name = c.at("template").get<std::string>();
  Outcome out;
  try {
    out.text = trl::tokenizer::render_chat_template(read_text(chat_templates_dir() + name), c.at("messages"), inputs,
                                                    "tests/chat_templates/" + name);
  } catch (const trl::DataError& e) {
    out.failed = true;
    out.text = e.what();
  }
  return out;
}

TEST(JinjaParity, RendersEveryReferenceCaseIdentically) {
  const Json expected = Json::parse(read_text(chat_templates_dir() + "expected.json"));
  const std::tm now = parse_fixed_now(expected.at("fixed_now").get<std::string>());
  int compared = 0;
  int errors = 0;
  for (const Json& c : expected.at("cases")) {
    const std::string label = c.at("template").get<std::string>() + " / " + c.at("conversation").get<std::string>() +
                              " / add_generation_prompt=" + (c.at("add_generation_prompt").get<bool>() ? "true" : "false") +
                              " / kwargs " + c.at("kwargs").dump();
    const Outcome got = render_case(c, now);
    ++compared;
    if (c.contains("text")) {
      EXPECT_FALSE(got.failed) << label << ": failed with " << got.text;
      EXPECT_EQ(got.text, c.at("text").get<std::string>()) << label;
      continue;
    }
    ++errors;
    EXPECT_TRUE(got.failed) << label << ": jinja2 failed (" << c.at("error").dump() << ") but we rendered " << got.text;
    if (c.at("error").at("kind") == "raise_exception") {
      const std::string message = c.at("error").at("message").get<std::string>();
      EXPECT_NE(got.text.find("raised an exception: " + message), std::string::npos) << label << ": got " << got.text;
    }
  }
  // All seven templates, with errors among them (Mistral's alternation check, empty conversations).
  EXPECT_GE(compared, 300);
  EXPECT_GE(errors, 20);
}

TEST(JinjaParity, RefusesAnUnsupportedTemplateNamingItsOriginAndLine) {
  trl::tokenizer::ChatTemplateInputs inputs;
  try {
    trl::tokenizer::render_chat_template("{{ bos_token }}\n  {% macro m() %}x{% endmacro %}", Json::array(), inputs,
                                         "model/tokenizer_config.json");
    FAIL() << "expected ConfigError";
  } catch (const trl::ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "model/tokenizer_config.json: chat_template: line 2:3: the 'macro' tag is not supported by trl-host's "
              "Jinja interpreter");
  }
}

TEST(JinjaParity, MistralAlternationErrorIsADataErrorWithTheTemplatesMessage) {
  trl::tokenizer::ChatTemplateInputs inputs;
  inputs.bos_token = "<s>";
  inputs.eos_token = "</s>";
  const Json chat = Json::parse(R"([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])");
  try {
    trl::tokenizer::render_chat_template(read_text(chat_templates_dir() + "mistral_v0_1.jinja"), chat, inputs,
                                         "m/tokenizer_config.json");
    FAIL() << "expected DataError";
  } catch (const trl::DataError& e) {
    EXPECT_EQ(std::string(e.what()),
              "m/tokenizer_config.json: chat template line 11:13 raised an exception: After the optional system "
              "message, conversation roles must alternate user/assistant/user/assistant/...");
  }
}

}  // namespace
