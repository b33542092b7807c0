// Declared parameters: validation messages name the key; defaults fill in; getters are typed.
#include <gtest/gtest.h>

#include "trl/sdk/error.h"
#include "trl/sdk/params.h"

namespace {

trl::ParamTable sample_table() {
  trl::ParamTable t;
  t.add("beta", trl::ParamType::number, 0.1, "temperature").greater_than(0);
  t.add("loss_type", trl::ParamType::string_list, {"sigmoid"}, "losses").one_of({"sigmoid", "hinge", "ipo"}).accept_single();
  t.add("ld_alpha", trl::ParamType::number, nullptr, "LD-DPO alpha").range(0, 1);
  t.add("max_steps", trl::ParamType::integer, -1, "steps");
  t.add("use_weighting", trl::ParamType::boolean, false, "WPO");
  return t;
}

std::string error_of(const trl::ParamTable& t, const nlohmann::json& config) {
  try {
    t.validate(config, "run.json: args");
  } catch (const trl::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(ParamTable, FillsDefaults) {
  trl::Args a = sample_table().validate(nlohmann::json::object(), "args");
  EXPECT_DOUBLE_EQ(a.number("beta"), 0.1);
  EXPECT_EQ(a.strings("loss_type"), std::vector<std::string>{"sigmoid"});
  EXPECT_FALSE(a.optional_number("ld_alpha").has_value());
  EXPECT_EQ(a.integer("max_steps"), -1);
  EXPECT_FALSE(a.boolean("use_weighting"));
}

TEST(ParamTable, UnknownKeySuggestsClosest) {
  EXPECT_EQ(error_of(sample_table(), {{"betta", 0.2}}),
            "run.json: args: betta: unknown parameter (did you mean \"beta\"?)");
}

TEST(ParamTable, UnknownKeyWithoutCloseMatchHasNoSuggestion) {
  EXPECT_EQ(error_of(sample_table(), {{"completely_different", 1}}),
            "run.json: args: completely_different: unknown parameter");
}

TEST(ParamTable, WrongTypeNamesKeyAndValue) {
  EXPECT_EQ(error_of(sample_table(), {{"beta", "0.1"}}),
            "run.json: args: beta: expected a number, got a string \"0.1\"");
}

TEST(ParamTable, OutOfRangeNamesBound) {
  EXPECT_EQ(error_of(sample_table(), {{"beta", 0}}), "run.json: args: beta: expected a number > 0, got 0");
  EXPECT_EQ(error_of(sample_table(), {{"ld_alpha", 1.5}}),
            "run.json: args: ld_alpha: expected a number in [0, 1]; or null, got 1.5");
}

TEST(ParamTable, IntegerRefusesFraction) {
  EXPECT_EQ(error_of(sample_table(), {{"max_steps", 2.5}}),
            "run.json: args: max_steps: expected an integer, got a number 2.5");
}

TEST(ParamTable, SingleStringBecomesList) {
  trl::Args a = sample_table().validate({{"loss_type", "hinge"}}, "args");
  EXPECT_EQ(a.strings("loss_type"), std::vector<std::string>{"hinge"});
}

TEST(ParamTable, ChoiceErrorSuggests) {
  EXPECT_EQ(error_of(sample_table(), {{"loss_type", {"sigmoid", "hinje"}}}),
            "run.json: args: loss_type[1]: expected one of: sigmoid, hinge, ipo; got \"hinje\" (did you mean \"hinge\"?)");
}

TEST(ParamTable, NullAllowedWhenDefaultIsNull) {
  trl::Args a = sample_table().validate({{"ld_alpha", nullptr}}, "args");
  EXPECT_FALSE(a.has("ld_alpha"));
}

TEST(ParamTable, NullRefusedForNonNullable) {
  EXPECT_EQ(error_of(sample_table(), {{"beta", nullptr}}), "run.json: args: beta: expected a number, got null");
}

TEST(ParamTable, RequiredKeyMissing) {
  trl::ParamTable t;
  t.add("output_dir", trl::ParamType::string, "", "where outputs go").make_required();
  EXPECT_EQ(error_of(t, nlohmann::json::object()), "run.json: args: output_dir: is required (where outputs go)");
}

TEST(Args, ReadingUndeclaredKeyIsABug) {
  trl::Args a = sample_table().validate(nlohmann::json::object(), "args");
  EXPECT_THROW(a.number("gamma"), trl::InternalError);
}

TEST(ParamTable, MarkdownListsEveryParameter) {
  std::string md = sample_table().markdown();
  EXPECT_NE(md.find("| `beta` | number | `0.1` | > 0 | temperature |"), std::string::npos) << md;
  EXPECT_NE(md.find("`ld_alpha`"), std::string::npos);
}

}  // namespace
