// The gfpo trainer's declared parameters: GRPOConfig's changed TrainingArguments defaults win the host's
// merge, chat_template_kwargs is checked, and docs/gfpo.md carries the generated tables.
#include <fstream>
#include <sstream>

#include "accuracy_reward.h"
#include "adaptive_difficulty_filter.h"
#include "format_reward.h"
#include "gfpo_trainer_test_support.h"
#include "length_penalty_reward.h"

namespace {

trl::ParamTable merged() {
  return trl::host::merge_trainer_params(trl::training_arguments_params(), trl::gfpo::gfpo_trainer_params());
}

TEST(GfpoTrainerParams, GrpoDefaultsWinTheHostMerge) {
  const trl::Args args = merged().validate({{"output_dir", "out"}}, "run.json: args");
  EXPECT_DOUBLE_EQ(args.number("learning_rate"), 1e-6);  // GRPOConfig (HF: 5e-5)
  EXPECT_EQ(args.integer("logging_steps"), 10);          // GRPOConfig (HF: 500)
  EXPECT_EQ(args.integer("num_generations"), 8);
  EXPECT_FALSE(args.has("num_remains_in_group"));
  EXPECT_FALSE(args.has("chat_template_kwargs"));
}

TEST(GfpoTrainerParams, ChatTemplateKwargsMustBeAnObject) {
  const trl::Args args = merged().validate({{"output_dir", "out"}, {"chat_template_kwargs", "yes"}}, "run.json: args");
  const std::string message = gfpo_test::config_error_of([&] { trl::gfpo::GfpoTrainer trainer(args); });
  EXPECT_NE(message.find("chat_template_kwargs"), std::string::npos) << message;
  EXPECT_NE(message.find("expected an object"), std::string::npos) << message;
}

TEST(GfpoTrainerParams, ChatTemplateKwargsReachTheTemplate) {
  // Qwen3's enable_thinking is the documented use; with the byte tokenizer's ChatML the kwargs are accepted
  // and ignored as in Jinja, and a row's own column must be an object.
  const std::unique_ptr<trl::Tokenizer> tokenizer = trl::Tokenizer::byte_level();
  trl::PromptRow row;
  row.prompt = trl::TextOrChat::of_chat({{"user", "hi"}});
  row.source = "data.jsonl:3";
  const auto examples = trl::gfpo::tokenize_prompts({row}, *tokenizer, {{"enable_thinking", false}});
  EXPECT_EQ(examples.at(0).text, "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(examples.at(0).ids, tokenizer->encode(examples.at(0).text, false));
  row.columns = {{"chat_template_kwargs", 3}};
  try {
    trl::gfpo::tokenize_prompts({row}, *tokenizer, nullptr);
    FAIL() << "a non-object chat_template_kwargs column was accepted";
  } catch (const trl::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("data.jsonl:3"), std::string::npos) << e.what();
  }
}

// docs/gfpo.md carries the tables `plugins info gfpo` prints, between markers; regenerate them from the
// declarations' markdown() when a parameter changes.
TEST(GfpoTrainerParams, DocsTablesMatchDeclarations) {
  const std::string path = std::string(TRL_TEST_DATA_DIR) + "/../docs/gfpo.md";
  std::ifstream in(path);
  ASSERT_TRUE(in) << "cannot open " << path;
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  const std::vector<std::pair<std::string, trl::ParamTable>> tables = {
      {"trainer", trl::gfpo::gfpo_trainer_params()},
      {"accuracy", trl::gfpo::accuracy_reward_params()},
      {"format", trl::gfpo::format_reward_params()},
      {"length_penalty", trl::gfpo::length_penalty_reward_params()},
      {"adaptive_difficulty", trl::gfpo::adaptive_difficulty_params()}};
  for (const auto& [name, table] : tables) {
    const std::string begin = "<!-- gfpo-params:" + name + ":begin -->\n";
    const size_t from = doc.find(begin);
    const size_t to = doc.find("<!-- gfpo-params:" + name + ":end -->");
    ASSERT_NE(from, std::string::npos) << begin;
    ASSERT_NE(to, std::string::npos) << name;
    EXPECT_EQ(doc.substr(from + begin.size(), to - from - begin.size()), table.markdown())
        << "regenerate the " << name << " table of docs/gfpo.md:\n"
        << table.markdown();
  }
}

}  // namespace
