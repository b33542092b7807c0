// The Jinja lexer's whitespace rules as transformers configures jinja2 (trim_blocks, lstrip_blocks,
// keep_trailing_newline=False), string literals and token positions. Every expected string is what
// Python's jinja2 3.1.2 renders for the same source (ImmutableSandboxedEnvironment, trim_blocks=True,
// lstrip_blocks=True).
#include <gtest/gtest.h>

#include "jinja_test_support.h"
#include "tokenizer/jinja/lexer.h"

namespace {

using jinja_test::render;

TEST(JinjaLexer, TrimBlocksEatsOneNewlineAfterABlockTag) {
  EXPECT_EQ(render("{% if true %}\nb\n{% endif %}\nc"), "b\nc");
  EXPECT_EQ(render("{% if true %}\n\nb{% endif %}"), "\nb");
}

TEST(JinjaLexer, LstripBlocksStripsIndentationBeforeATagOnItsOwnLine) {
  EXPECT_EQ(render("a  \n  {% if true %}\n  b\n  {% endif %}\n  c\n"), "a  \n  b\n  c");
  EXPECT_EQ(render("{% for m in ['a', 'b'] %}\n    {{ m }}\n{% endfor %}\n"), "    a\n    b\n");
}

TEST(JinjaLexer, LstripBlocksLeavesIndentationBeforeAnExpression) {
  EXPECT_EQ(render("{{- 'a' -}}\n\n{{ 'b' }}\n   {{ 'c' }}"), "ab\n   c");
}

TEST(JinjaLexer, MinusStripsAllWhitespaceOnItsSide) {
  EXPECT_EQ(render("a  {%- if true -%}  b  {%- endif -%}  c"), "abc");
  EXPECT_EQ(render("x \n\n {{- 'y' }} \n"), "xy ");
}

TEST(JinjaLexer, PlusKeepsTheIndentationLstripWouldRemove) {
  EXPECT_EQ(render("  {%+ if true %}x{% endif %}"), "  x");
}

TEST(JinjaLexer, CommentsVanishAndFollowTheSameRules) {
  EXPECT_EQ(render("  {# comment #}\nx\n  {#- c2 -#}  y\n{{ 'z' }}\n"), "xy\nz");
}

TEST(JinjaLexer, OneTrailingNewlineOfTheTemplateIsDropped) {
  EXPECT_EQ(render("a\n"), "a");
  EXPECT_EQ(render("a\n\n"), "a\n");
  EXPECT_EQ(render("a\r\nb\rc\r\n"), "a\nb\nc");
}

TEST(JinjaLexer, StringLiteralsUsePythonEscapes) {
  EXPECT_EQ(render(R"({{ "\u00e9\x41\101\t|\q" }}|{{ 'a' 'b' }}|{{ 'it\'s' }})"), "\xc3\xa9" "AA\t|\\q|ab|it's");
}

TEST(JinjaLexer, NumberLiterals) {
  EXPECT_EQ(render("{{ 0x1F }} {{ 1_000 }} {{ 0b101 }} {{ 0o17 }} {{ 2.5e-3 }} {{ 1e20 }}"), "31 1000 5 15 0.0025 1e+20");
}

TEST(JinjaLexer, TokensCarryLineAndColumn) {
  const auto tokens = trl::tokenizer::jinja::tokenize("ab\n  {{ x.y }}");
  ASSERT_GE(tokens.size(), 6u);
  EXPECT_EQ(tokens[0].text, "ab\n  ");
  EXPECT_EQ(tokens[1].pos.line, 2);
  EXPECT_EQ(tokens[1].pos.column, 3);  // {{
  EXPECT_EQ(tokens[2].text, "x");
  EXPECT_EQ(tokens[2].pos.column, 6);
  EXPECT_EQ(tokens[4].text, "y");
  EXPECT_EQ(tokens[4].pos.column, 8);
}

TEST(JinjaLexer, ColumnsCountCodePoints) {
  const auto tokens = trl::tokenizer::jinja::tokenize("\xc3\xa9\xe6\xbc\xa2{{ x }}");
  ASSERT_GE(tokens.size(), 2u);
  EXPECT_EQ(tokens[1].pos.column, 3);
}

}  // namespace
