// load_preference_dataset, extract_prompt and load_prompt_dataset: the four formats of spec §1.2 (§5 item 6)
// and every error message. Expected splits follow TRL's extract_prompt as spec §1.2 states it.
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "trl/sdk/data/dataset.h"
#include "trl/sdk/error.h"

namespace {

using trl::Message;
using trl::TextOrChat;

std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "trl_pref_ds_" + std::to_string(::getpid()) + "_" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// Writes `jsonl` and returns the DataError of loading it with "<path>" replaced by "F".
std::string preference_error(const std::string& jsonl) {
  const std::string path = write_file("err.jsonl", jsonl);
  try {
    trl::load_preference_dataset(path);
  } catch (const trl::DataError& e) {
    std::string what = e.what();
    if (what.rfind(path, 0) == 0) what = "F" + what.substr(path.size());
    return what;
  }
  return "no DataError";
}

std::string prompt_error(const std::string& jsonl) {
  const std::string path = write_file("perr.jsonl", jsonl);
  try {
    trl::load_prompt_dataset(path);
  } catch (const trl::DataError& e) {
    std::string what = e.what();
    if (what.rfind(path, 0) == 0) what = "F" + what.substr(path.size());
    return what;
  }
  return "no DataError";
}

TextOrChat text(const std::string& s) { return TextOrChat::of_text(s); }
TextOrChat chat(std::vector<Message> m) { return TextOrChat::of_chat(std::move(m)); }

const char* kUserAssistant =
    "[{\"role\": \"user\", \"content\": \"What color is the sky?\"}, {\"role\": \"assistant\", \"content\": ";

// --- the four formats -------------------------------------------------------------------------------------

TEST(PreferenceDataset, ReadsExplicitStandardRows) {
  const std::string path = write_file("std.jsonl",
                                      "{\"prompt\": \"The sky is\", \"chosen\": \" blue.\", \"rejected\": \" green.\", "
                                      "\"id\": 7}\n"
                                      "{\"prompt\": \"\", \"chosen\": \"a\", \"rejected\": \"b\"}\n");
  const std::vector<trl::PreferenceRow> rows = trl::load_preference_dataset(path);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].prompt, text("The sky is"));
  EXPECT_EQ(rows[0].chosen, text(" blue."));
  EXPECT_EQ(rows[0].rejected, text(" green."));
  EXPECT_EQ(rows[0].source, path + ":1");
  EXPECT_EQ(rows[0].chat_template_kwargs, nlohmann::ordered_json::object());
  EXPECT_FALSE(rows[0].ref_chosen_logps.has_value());
  EXPECT_EQ(rows[1].prompt, text(""));
}

TEST(PreferenceDataset, ExtractsImplicitStandardPromptWithTheSpaceRule) {
  const std::string path = write_file("impl.jsonl", "{\"chosen\": \"The sky is blue.\", \"rejected\": \"The sky is green.\"}\n");
  const std::vector<trl::PreferenceRow> rows = trl::load_preference_dataset(path);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].prompt, text("The sky is"));
  EXPECT_EQ(rows[0].chosen, text(" blue."));
  EXPECT_EQ(rows[0].rejected, text(" green."));
}

TEST(PreferenceDataset, ReadsExplicitConversationalRows) {
  const std::string path = write_file(
      "chat.jsonl",
      "{\"prompt\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", \"content\": \"Hi\"}], "
      "\"chosen\": [{\"role\": \"assistant\", \"content\": \"Hello!\"}], "
      "\"rejected\": [{\"role\": \"assistant\", \"content\": \"Go away.\"}], "
      "\"chat_template_kwargs\": {\"enable_thinking\": false}}\n"
      "{\"prompt\": [], \"chosen\": [{\"role\": \"assistant\", \"content\": \"A\"}], "
      "\"rejected\": [{\"role\": \"assistant\", \"content\": \"B\"}], \"chat_template_kwargs\": null}\n");
  const std::vector<trl::PreferenceRow> rows = trl::load_preference_dataset(path);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].prompt, chat({{"system", "Be brief."}, {"user", "Hi"}}));
  EXPECT_EQ(rows[0].chosen, chat({{"assistant", "Hello!"}}));
  EXPECT_EQ(rows[0].rejected, chat({{"assistant", "Go away."}}));
  EXPECT_EQ(rows[0].chat_template_kwargs, nlohmann::ordered_json({{"enable_thinking", false}}));
  EXPECT_EQ(rows[1].prompt, chat({}));
  EXPECT_EQ(rows[1].chat_template_kwargs, nlohmann::ordered_json::object());
}

TEST(PreferenceDataset, ExtractsImplicitConversationalPromptInWholeMessages) {
  const std::string path = write_file("implchat.jsonl", std::string("{\"chosen\": ") + kUserAssistant +
                                                            "\"It is blue.\"}], \"rejected\": " + kUserAssistant +
                                                            "\"It is green.\"}]}\n");
  const std::vector<trl::PreferenceRow> rows = trl::load_preference_dataset(path);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].prompt, chat({{"user", "What color is the sky?"}}));
  EXPECT_EQ(rows[0].chosen, chat({{"assistant", "It is blue."}}));
  EXPECT_EQ(rows[0].rejected, chat({{"assistant", "It is green."}}));
}

TEST(PreferenceDataset, NullPromptMeansImplicit) {
  const std::string path = write_file("nullp.jsonl", "{\"prompt\": null, \"chosen\": \"Q: a\", \"rejected\": \"Q: b\"}\n");
  const std::vector<trl::PreferenceRow> rows = trl::load_preference_dataset(path);
  EXPECT_EQ(rows[0].prompt, text("Q:"));
  EXPECT_EQ(rows[0].chosen, text(" a"));
}

TEST(PreferenceDataset, ReadsReferenceLogProbs) {
  const std::string path = write_file("ref.jsonl",
                                      "{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\", "
                                      "\"ref_chosen_logps\": -1.5, \"ref_rejected_logps\": -2}\n");
  const std::vector<trl::PreferenceRow> rows = trl::load_preference_dataset(path);
  ASSERT_TRUE(rows[0].ref_chosen_logps.has_value());
  EXPECT_DOUBLE_EQ(*rows[0].ref_chosen_logps, -1.5);
  EXPECT_DOUBLE_EQ(*rows[0].ref_rejected_logps, -2.0);
}

TEST(PreferenceDataset, ReadsAJsonArrayFile) {
  const std::string path = write_file("arr.json",
                                      "[\n {\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"},\n"
                                      " {\"prompt\": \"q\", \"chosen\": 1, \"rejected\": \"b\"}\n]\n");
  try {
    trl::load_preference_dataset(path);
    FAIL() << "expected a DataError";
  } catch (const trl::DataError& e) {
    EXPECT_EQ(std::string(e.what()),
              path + ":3: 'chosen' must be a string: the dataset is standard (judged from its first row), got number");
  }
}

// --- extract_prompt ----------------------------------------------------------------------------------------

TEST(ExtractPrompt, SplitsStringsAtTheFirstDifferentCharacter) {
  const trl::PromptSplit s = trl::extract_prompt(text("12+7=19"), text("12+7=18"));
  EXPECT_EQ(s.prompt, text("12+7=1"));
  EXPECT_EQ(s.chosen, text("9"));
  EXPECT_EQ(s.rejected, text("8"));
}

TEST(ExtractPrompt, GivesTheSpaceBeforeTheDifferenceToTheCompletions) {
  const trl::PromptSplit s = trl::extract_prompt(text("Q: hi A: yes"), text("Q: hi A: no"));
  EXPECT_EQ(s.prompt, text("Q: hi A:"));
  EXPECT_EQ(s.chosen, text(" yes"));
  EXPECT_EQ(s.rejected, text(" no"));
}

TEST(ExtractPrompt, CountsUnicodeCharactersNotBytes) {
  // U+00E9 and U+00E8 share their first UTF-8 byte (0xC3): a byte-wise split would cut a character in half.
  const trl::PromptSplit s = trl::extract_prompt(text("caf\u00e9"), text("caf\u00e8"));
  EXPECT_EQ(s.prompt, text("caf"));
  EXPECT_EQ(s.chosen, text("\u00e9"));
  EXPECT_EQ(s.rejected, text("\u00e8"));
  const trl::PromptSplit t = trl::extract_prompt(text("caf\u00e9 au lait"), text("caf\u00e9 noir"));
  EXPECT_EQ(t.prompt, text("caf\u00e9"));
  EXPECT_EQ(t.chosen, text(" au lait"));
  EXPECT_EQ(t.rejected, text(" noir"));
}

TEST(ExtractPrompt, PrefixStopsOneCharacterShortAsTrl) {
  // No difference within the shorter string: TRL's loop variable ends at min_len - 1.
  const trl::PromptSplit s = trl::extract_prompt(text("abc"), text("abcd"));
  EXPECT_EQ(s.prompt, text("ab"));
  EXPECT_EQ(s.chosen, text("c"));
  EXPECT_EQ(s.rejected, text("cd"));
  const trl::PromptSplit same = trl::extract_prompt(text("same"), text("same"));
  EXPECT_EQ(same.prompt, text("sam"));
  EXPECT_EQ(same.chosen, text("e"));
}

TEST(ExtractPrompt, DifferenceAtTheFirstCharacterGivesAnEmptyPrompt) {
  // TRL reads chosen[-1] here (the last character); "a " would have been split wrongly. See extract_prompt.cpp.
  const trl::PromptSplit s = trl::extract_prompt(text("a "), text("b "));
  EXPECT_EQ(s.prompt, text(""));
  EXPECT_EQ(s.chosen, text("a "));
  EXPECT_EQ(s.rejected, text("b "));
}

TEST(ExtractPrompt, SplitsConversationsInWholeMessages) {
  const std::vector<Message> common = {{"system", "S"}, {"user", "U1"}, {"assistant", "A1"}, {"user", "U2"}};
  std::vector<Message> chosen = common, rejected = common;
  chosen.push_back({"assistant", "good"});
  rejected.push_back({"assistant", "bad"});
  rejected.push_back({"user", "more"});
  const trl::PromptSplit s = trl::extract_prompt(chat(chosen), chat(rejected));
  EXPECT_EQ(s.prompt, chat(common));
  EXPECT_EQ(s.chosen, chat({{"assistant", "good"}}));
  EXPECT_EQ(s.rejected, chat({{"assistant", "bad"}, {"user", "more"}}));
  // A differing role counts as a difference; the first message differing gives no prompt.
  const trl::PromptSplit r = trl::extract_prompt(chat({{"user", "x"}}), chat({{"system", "x"}}));
  EXPECT_EQ(r.prompt, chat({}));
}

TEST(ExtractPrompt, RefusesEmptyOrMixedInput) {
  try {
    trl::extract_prompt(text(""), text("x"), "d.jsonl:4");
    FAIL() << "expected a DataError";
  } catch (const trl::DataError& e) {
    EXPECT_EQ(std::string(e.what()), "d.jsonl:4: cannot extract the prompt: 'chosen' is empty");
  }
  try {
    trl::extract_prompt(text("x"), chat({{"user", "x"}}), "d.jsonl:5");
    FAIL() << "expected a DataError";
  } catch (const trl::DataError& e) {
    EXPECT_EQ(std::string(e.what()),
              "d.jsonl:5: cannot extract the prompt: 'chosen' and 'rejected' are of different kinds");
  }
}

// --- preference errors -------------------------------------------------------------------------------------

TEST(PreferenceDataset, MissingColumnNamesRowAndColumn) {
  EXPECT_EQ(preference_error("{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}\n"
                             "{\"prompt\": \"p\", \"chosen\": \"a\"}\n"),
            "F:2: missing column 'rejected'");
  EXPECT_EQ(preference_error("{\"prompt\": \"p\", \"rejected\": \"b\"}\n"), "F:1: missing column 'chosen'");
  EXPECT_EQ(preference_error("{\"chosen\": null, \"rejected\": \"b\"}\n"), "F:1: missing column 'chosen'");
}

TEST(PreferenceDataset, EveryRowNeedsAPromptWhenTheFirstHasOne) {
  EXPECT_EQ(preference_error("{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}\n"
                             "{\"chosen\": \"a\", \"rejected\": \"b\"}\n"),
            "F:2: missing column 'prompt' (the first row (line 1) has one, so every row needs an explicit prompt)");
}

TEST(PreferenceDataset, NoRowMayHaveAPromptWhenTheFirstHasNone) {
  EXPECT_EQ(preference_error("\n{\"chosen\": \"a\", \"rejected\": \"b\"}\n"
                             "{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}\n"),
            "F:3: unexpected column 'prompt': the first row (line 2) has none, so every prompt is extracted from "
            "chosen and rejected (implicit-prompt format); give a prompt on every row or on none");
}

TEST(PreferenceDataset, FieldKindMustMatchTheFirstRow) {
  EXPECT_EQ(preference_error("{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}\n"
                             "{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": [{\"role\": \"assistant\", "
                             "\"content\": \"b\"}]}\n"),
            "F:2: 'rejected' must be a string: the dataset is standard (judged from its first row), got array");
  EXPECT_EQ(preference_error("{\"prompt\": \"p\", \"chosen\": [{\"role\": \"assistant\", \"content\": \"a\"}], "
                             "\"rejected\": [{\"role\": \"assistant\", \"content\": \"b\"}]}\n"),
            "F:1: 'prompt' must be a list of {role, content} messages: the dataset is conversational (judged from "
            "its first row), got string");
}

TEST(PreferenceDataset, FirstRowMustBeStringOrMessages) {
  EXPECT_EQ(preference_error("{\"chosen\": 3, \"rejected\": \"b\"}\n"),
            "F:1: 'chosen' must be a string or a list of {role, content} messages, got number");
  EXPECT_EQ(preference_error("{\"chosen\": [\"a\"], \"rejected\": [\"b\"]}\n"),
            "F:1: 'chosen' must be a string or a list of {role, content} messages, got a list whose first element "
            "is string");
  EXPECT_EQ(preference_error("{\"chosen\": [{\"content\": \"a\"}], \"rejected\": \"b\"}\n"),
            "F:1: 'chosen' must be a string or a list of {role, content} messages, got a list whose first element "
            "is an object without 'role'");
  EXPECT_EQ(preference_error("{\"chosen\": [], \"rejected\": []}\n"),
            "F:1: 'chosen' must be a string or a list of {role, content} messages, got an empty list");
}

TEST(PreferenceDataset, ValidatesEveryMessage) {
  const std::string head = "{\"prompt\": [{\"role\": \"user\", \"content\": \"Q\"}], \"rejected\": "
                           "[{\"role\": \"assistant\", \"content\": \"b\"}], \"chosen\": [{\"role\": \"assistant\", "
                           "\"content\": \"a\"}, ";
  EXPECT_EQ(preference_error(head + "{\"role\": \"bot\", \"content\": \"x\"}]}\n"),
            "F:1: 'chosen' message 2: unknown role 'bot' (expected system, user, assistant or tool)");
  EXPECT_EQ(preference_error(head + "{\"role\": \"user\"}]}\n"), "F:1: 'chosen' message 2: missing 'content'");
  EXPECT_EQ(preference_error(head + "{\"content\": \"x\"}]}\n"), "F:1: 'chosen' message 2: missing 'role'");
  EXPECT_EQ(preference_error(head + "{\"role\": 1, \"content\": \"x\"}]}\n"),
            "F:1: 'chosen' message 2: 'role' must be a string, got number");
  EXPECT_EQ(preference_error(head + "{\"role\": \"user\", \"content\": [{\"type\": \"text\"}]}]}\n"),
            "F:1: 'chosen' message 2: 'content' must be a string, got array (content parts, e.g. images, are not "
            "supported)");
  EXPECT_EQ(preference_error(head + "{\"role\": \"assistant\", \"content\": \"\", \"tool_calls\": []}]}\n"),
            "F:1: 'chosen' message 2: unsupported key 'tool_calls' (only role and content are supported)");
  EXPECT_EQ(preference_error(head + "\"text\"]}\n"),
            "F:1: 'chosen' message 2: expected an object {role, content}, got string");
}

TEST(PreferenceDataset, RefusesAnEmptyCompletionConversation) {
  EXPECT_EQ(preference_error("{\"prompt\": [], \"chosen\": [{\"role\": \"assistant\", \"content\": \"a\"}], "
                             "\"rejected\": [{\"role\": \"assistant\", \"content\": \"b\"}]}\n"
                             "{\"prompt\": [], \"chosen\": [], \"rejected\": [{\"role\": \"assistant\", \"content\": "
                             "\"b\"}]}\n"),
            "F:2: 'chosen' is an empty message list");
}

TEST(PreferenceDataset, ChatTemplateKwargsMustBeAnObject) {
  EXPECT_EQ(preference_error("{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\", "
                             "\"chat_template_kwargs\": \"x\"}\n"),
            "F:1: 'chat_template_kwargs' must be an object, got string");
}

TEST(PreferenceDataset, RefusesToolsThatAreNotAListAndImages) {
  EXPECT_EQ(preference_error("{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\", \"tools\": 3}\n"),
            "F:1: 'tools' must be a list of tool definitions (or a JSON string of one), got number");
  EXPECT_EQ(preference_error("{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\", "
                             "\"chat_template_kwargs\": {\"tools\": []}}\n")
                .rfind("F:1: 'chat_template_kwargs' holds 'tools'", 0),
            0u);
  EXPECT_EQ(preference_error("{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\", \"images\": [\"x\"]}\n"),
            "F:1: column 'images' is not supported (vision datasets are out of scope)");
}

TEST(PreferenceDataset, ImplicitRowWithEmptyCompletionIsAnError) {
  EXPECT_EQ(preference_error("{\"chosen\": \"ab\", \"rejected\": \"ac\"}\n{\"chosen\": \"a\", \"rejected\": \"\"}\n"),
            "F:2: cannot extract the prompt: 'rejected' is empty");
}

TEST(PreferenceDataset, ReferenceLogProbsOnEveryRowOrNone) {
  const std::string first = "{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\", \"ref_chosen_logps\": -1, "
                            "\"ref_rejected_logps\": -2}\n";
  EXPECT_EQ(preference_error(first + "{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\", "
                                     "\"ref_chosen_logps\": -1}\n"),
            "F:2: missing column 'ref_rejected_logps' (the first row, line 1, has reference log-probs; give them on "
            "every row or on none)");
  EXPECT_EQ(preference_error("{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}\n" + first),
            "F:2: unexpected column 'ref_chosen_logps': the first row (line 1) has no reference log-probs");
  EXPECT_EQ(preference_error("{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\", \"ref_chosen_logps\": "
                             "\"-1\", \"ref_rejected_logps\": -2}\n"),
            "F:1: 'ref_chosen_logps' must be a number, got string");
}

TEST(PreferenceDataset, PropagatesFileErrors) {
  EXPECT_EQ(preference_error("\n\n"), "F: the dataset is empty (no rows)");
  EXPECT_EQ(preference_error("{\"chosen\": \"a\", \"rejected\": \"b\"}\n7\n"),
            "F:2: expected a JSON object per row, got number");
}

// --- prompt-only datasets ---------------------------------------------------------------------------------

TEST(PromptDataset, KeepsEveryOtherColumn) {
  const std::string path = write_file("prompts.jsonl",
                                      "{\"prompt\": \"2+2=\", \"answer\": \"4\", \"meta\": {\"k\": [1]}}\n"
                                      "{\"prompt\": \"3+3=\", \"answer\": null}\n");
  const std::vector<trl::PromptRow> rows = trl::load_prompt_dataset(path);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].prompt, text("2+2="));
  EXPECT_EQ(rows[0].columns, nlohmann::json({{"answer", "4"}, {"meta", {{"k", {1}}}}}));
  EXPECT_EQ(rows[1].columns, nlohmann::json({{"answer", nullptr}}));
  EXPECT_EQ(rows[1].source, path + ":2");
}

TEST(PromptDataset, ReadsConversationalPrompts) {
  const std::string path = write_file("cprompts.jsonl",
                                      "{\"prompt\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"solution\": 1}\n");
  const std::vector<trl::PromptRow> rows = trl::load_prompt_dataset(path);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].prompt, chat({{"user", "Hi"}}));
  EXPECT_EQ(rows[0].columns, nlohmann::json({{"solution", 1}}));
}

TEST(PromptDataset, Errors) {
  EXPECT_EQ(prompt_error("{\"text\": \"x\"}\n"), "F:1: missing column 'prompt'");
  EXPECT_EQ(prompt_error("{\"prompt\": \"x\"}\n{\"prompt\": null}\n"), "F:2: missing column 'prompt'");
  EXPECT_EQ(prompt_error("{\"prompt\": \"x\"}\n{\"prompt\": [{\"role\": \"user\", \"content\": \"y\"}]}\n"),
            "F:2: 'prompt' must be a string: the dataset is standard (judged from its first row), got array");
  EXPECT_EQ(prompt_error("{\"prompt\": [{\"role\": \"user\", \"content\": \"y\"}]}\n{\"prompt\": []}\n"),
            "F:2: 'prompt' is an empty message list");
  EXPECT_EQ(prompt_error("{\"prompt\": 5}\n"),
            "F:1: 'prompt' must be a string or a list of {role, content} messages, got number");
}

}  // namespace
