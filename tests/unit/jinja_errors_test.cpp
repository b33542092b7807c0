// Errors of the Jinja interpreter: where jinja2 refuses to compile or fails to render, we do too, with
// the line:column of the offending construct; constructs we do not implement are refused at parse time,
// never rendered approximately.
#include <gtest/gtest.h>

#include "jinja_test_support.h"
#include "tokenizer/jinja/error.h"

namespace {

using jinja_test::render;
namespace jinja = trl::tokenizer::jinja;

// The message of the TemplateError subclass E that rendering `source` throws ("" if none).
template <class E>
std::string error_of(const std::string& source) {
  try {
    render(source);
  } catch (const E& e) {
    return e.what();
  }
  return "";
}

TEST(JinjaErrors, SyntaxErrorsNameLineAndColumn) {
  EXPECT_EQ(error_of<jinja::TemplateSyntaxError>("{% if %}"), "line 1:7: unexpected end of statement block");
  EXPECT_EQ(error_of<jinja::TemplateSyntaxError>("ok\n{{ 'unterminated }}"), "line 2:4: unexpected end of string literal");
  EXPECT_EQ(error_of<jinja::TemplateSyntaxError>("{% for x in [1] %}"),
            "line 1:19: unexpected end of template; expected one of: 'else', 'endfor'");
  EXPECT_EQ(error_of<jinja::TemplateSyntaxError>("{{ (1 }}"), "line 1:7: unexpected '}', expected ')'");
  EXPECT_EQ(error_of<jinja::TemplateSyntaxError>("{# never closed"), "line 1:1: Missing end of comment tag");
}

TEST(JinjaErrors, UnknownFiltersAndTestsAreRefusedAtParseTime) {
  // jinja2 also refuses them when it compiles ("No filter named ...").
  EXPECT_EQ(error_of<jinja::TemplateSyntaxError>("{% if false %}{{ 'abc' | nosuchfilter }}{% endif %}"),
            "line 1:26: no filter named 'nosuchfilter' (not supported by trl-host's Jinja interpreter)");
  EXPECT_EQ(error_of<jinja::TemplateSyntaxError>("{{ 1 is nosuchtest }}"),
            "line 1:9: no test named 'nosuchtest' (not supported by trl-host's Jinja interpreter)");
}

TEST(JinjaErrors, UnsupportedConstructsAreNamed) {
  EXPECT_EQ(error_of<jinja::TemplateSyntaxError>("a\n {% macro f() %}x{% endmacro %}"),
            "line 2:2: the 'macro' tag is not supported by trl-host's Jinja interpreter");
  EXPECT_EQ(error_of<jinja::TemplateSyntaxError>("{% for x in y recursive %}{% endfor %}"),
            "line 1:15: recursive loops are not supported by trl-host's Jinja interpreter");
  EXPECT_EQ(error_of<jinja::TemplateSyntaxError>("{{ 1 < 2 < 3 }}"),
            "line 1:4: chained comparisons are not supported by trl-host's Jinja interpreter");
  EXPECT_EQ(error_of<jinja::TemplateSyntaxError>("{% break %}"), "line 1:1: 'break' outside of a for loop");
}

TEST(JinjaErrors, UndefinedUsedAsAnObject) {
  // jinja2: UndefinedError "'x' is undefined" / "'dict object' has no attribute 'b'".
  EXPECT_EQ(error_of<jinja::TemplateRuntimeError>("{{ x.y }}"), "line 1:4: 'x' is undefined");
  EXPECT_EQ(error_of<jinja::TemplateRuntimeError>("\n  {{ {'a':1}.b.c }}"), "line 2:6: 'dict object' has no attribute 'b'");
  EXPECT_EQ(error_of<jinja::TemplateRuntimeError>("{{ [1][3].a }}"), "line 1:4: list object has no element 3");
  EXPECT_EQ(error_of<jinja::TemplateRuntimeError>("{{ x + 1 }}"), "line 1:4: 'x' is undefined");
}

TEST(JinjaErrors, PythonTypeErrors) {
  EXPECT_EQ(error_of<jinja::TemplateRuntimeError>("{{ 1 + 'a' }}"), "line 1:4: unsupported operand type(s) for +: 'int' and 'str'");
  EXPECT_EQ(error_of<jinja::TemplateRuntimeError>("{{ 10 / 0 }}"), "line 1:4: division by zero");
  EXPECT_EQ(error_of<jinja::TemplateRuntimeError>("{% for x in 3 %}{% endfor %}"), "line 1:13: 'int' object is not iterable");
}

TEST(JinjaErrors, TheSandboxRefusesMutation) {
  EXPECT_EQ(error_of<jinja::TemplateRuntimeError>("{{ [].append(1) }}"),
            "line 1:4: access to list.append is not allowed: the template runs in an immutable sandbox");
}

TEST(JinjaErrors, NamespaceAttributesOnlyOnNamespaces) {
  EXPECT_EQ(error_of<jinja::TemplateRuntimeError>("{% set d = {} %}{% set d.x = 1 %}"),
            "line 1:17: cannot assign attribute on non-namespace object");
}

TEST(JinjaErrors, RaiseExceptionCarriesItsMessageAndPosition) {
  jinja::Dict context;
  context.set("raise_exception", jinja::Value::callable("raise_exception", [](const jinja::CallArgs& args) -> jinja::Value {
                throw jinja::TemplateRaisedError({}, args.positional.at(0).str());
              }));
  try {
    jinja::Template("{% if true %}\n    {{- raise_exception('roles must alternate') }}\n{% endif %}").render(context);
    FAIL() << "expected TemplateRaisedError";
  } catch (const jinja::TemplateRaisedError& e) {
    EXPECT_EQ(e.message(), "roles must alternate");
    EXPECT_EQ(e.pos().line, 2);
    EXPECT_EQ(e.pos().column, 9);
  }
}

}  // namespace
