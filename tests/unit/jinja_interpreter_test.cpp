// The Jinja interpreter, construct by construct. Every expected string is what Python's jinja2 3.1.2
// renders for the same source and variables (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks,
// loopcontrols, transformers' tojson), so these pin jinja2's semantics, not ours.
#include <gtest/gtest.h>

#include "jinja_test_support.h"

namespace {

using jinja_test::render;
using Json = nlohmann::ordered_json;

TEST(JinjaInterpreter, ArithmeticFollowsPython) {
  EXPECT_EQ(render("{{ 1 + 2 }}|{{ 7 // 2 }}|{{ -7 // 2 }}|{{ -7 % 3 }}|{{ 7 / 2 }}|{{ 2 ** 10 }}|{{ 1.5 * 2 }}|{{ 0.1 + 0.2 }}"),
            "3|3|-4|2|3.5|1024|3.0|0.30000000000000004");
  EXPECT_EQ(render("{{ 'a' ~ 1 ~ none ~ true }}|{{ 'ab' * 3 }}|{{ [1, 2] + [3] }}"), "a1NoneTrue|ababab|[1, 2, 3]");
}

TEST(JinjaInterpreter, ValuesPrintAsPythonStr) {
  EXPECT_EQ(render("{{ 1e20 }} {{ 1e-5 }} {{ 123456789012345678.0 }} {{ 1.0 }} {{ -0.0 }} {{ 2.5e-300 }} {{ 1e16 }} {{ 1e15 }}"),
            "1e+20 1e-05 1.2345678901234568e+17 1.0 -0.0 2.5e-300 1e+16 1000000000000000.0");
  EXPECT_EQ(render(R"({{ [1, 'a', none, true, 1.5, {'k': 'v'}] }}|{{ {'a': [1, "it's"]} }}|{{ (1, 2) }}|{{ x }})"),
            R"([1, 'a', None, True, 1.5, {'k': 'v'}]|{'a': [1, "it's"]}|(1, 2)|)");
}

TEST(JinjaInterpreter, IndexingAndSlicingCountCodePoints) {
  EXPECT_EQ(render(R"({{ "abc"[::-1] }}|{{ "h\u00e9llo"[1] }}|{{ "h\u00e9llo"[1:3] }}|{{ [1,2,3,4][::2] }}|{{ [1,2,3][-1] }}|{{ [1,2,3][5] }}|{{ "abc"[-5:2] }})"),
            "cba|\xc3\xa9|\xc3\xa9l|[1, 3]|3||ab");
}

TEST(JinjaInterpreter, ComparisonsMembershipAndLogic) {
  EXPECT_EQ(render("{{ 'a' in 'cat' }}|{{ 1 in [1,2] }}|{{ 'k' in {'k':1} }}|{{ 3 not in [1] }}|{{ 'x' in y }}|{{ 1 < 2 }}|"
                   "{{ 'a' < 'b' }}|{{ 2 >= 2.0 }}|{{ 1 == 1.0 }}|{{ 1 == true }}|{{ [1] == [1] }}"),
            "True|True|True|True|False|True|True|True|True|True|True");
  EXPECT_EQ(render("{{ 1 if true else 2 }}|{{ 1 if false else 2 }}|{{ 1 if false }}|{{ not 1 }}|{{ not x }}|{{ 1 and 2 }}|"
                   "{{ 0 or 'b' }}|{{ -3|abs }}|{{ - 2 }}"),
            "1|2||False|True|2|b|3|-2");
}

TEST(JinjaInterpreter, AttributesOfMissingThingsAreUndefinedNotErrors) {
  EXPECT_EQ(render("{{ none.x }}|{{ 1.x }}|{{ {'a':1}.b }}|{{ m.role }}|{{ m['content'] }}", {{"m", {{"role", "user"}}}}),
            "|||user|");
  EXPECT_EQ(render("{{ m.role }}", {{"m", {{"role", "user"}}}}), "user");
}

TEST(JinjaInterpreter, ForLoopVariables) {
  EXPECT_EQ(render("{% for x in [1,2,3] %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}"
                   "{{ loop.revindex }};{% endfor %}"),
            "10TrueFalse33;21FalseFalse32;32FalseTrue31;");
  EXPECT_EQ(render("{% for x in 'ab' %}{{ loop.cycle('odd', 'even') }}{{ loop.previtem }}{{ loop.nextitem }}{% endfor %}"),
            "oddbevena");
  EXPECT_EQ(render("{% for a in [[1,2],[3,4]] %}{% for b in a %}{{ loop.index }}{{ b }}{% endfor %}{{ loop.index }}{% endfor %}"),
            "1122113242");
}

TEST(JinjaInterpreter, ForElseFilterBreakContinue) {
  EXPECT_EQ(render("{% for x in [] %}a{% else %}empty{% endfor %}|{% for x in [1,2,3,4] if x is even %}{{ x }}{{ loop.length }}{% endfor %}"),
            "empty|2242");
  EXPECT_EQ(render("{% for x in [1,2,3,4] %}{% if x == 3 %}{% break %}{% endif %}{{ x }}{% endfor %}|"
                   "{% for x in [1,2,3] %}{% if x == 2 %}{% continue %}{% endif %}{{ x }}{% endfor %}"),
            "12|13");
}

TEST(JinjaInterpreter, ForOverDictsAndItems) {
  EXPECT_EQ(render("{% for k, v in {'a': 1, 'b': 2}|items %}{{ k }}={{ v }},{% endfor %}|{% for k in {'b': 1, 'a': 2} %}{{ k }}{% endfor %}"),
            "a=1,b=2,|ba");
  EXPECT_EQ(render("{% for k, v in d.items() %}{{ k }}{{ v }}{% endfor %}", {{"d", Json::parse(R"({"z": 1, "a": 2})")}}), "z1a2");
}

TEST(JinjaInterpreter, SetInsideALoopIsLocalToTheIteration) {
  EXPECT_EQ(render("{% set y = 5 %}{% for x in [1,2] %}{% if loop.first %}{% set y = 1 %}{% endif %}[{{ y }}]{% endfor %}{{ y }}"),
            "[1][5]5");
}

TEST(JinjaInterpreter, NamespaceCarriesStateOutOfLoops) {
  EXPECT_EQ(render("{% set ns = namespace(n=0) %}{% for x in [1,2,3] %}{% set ns.n = ns.n + x %}{% endfor %}{{ ns.n }}"), "6");
}

TEST(JinjaInterpreter, IfElifElseUsesPythonTruthiness) {
  EXPECT_EQ(render("{% if false %}a{% elif none %}b{% elif 0 %}c{% elif '' %}d{% elif [] %}e{% else %}f{% endif %}"), "f");
}

TEST(JinjaInterpreter, SetForms) {
  EXPECT_EQ(render("{% set a, b = [1, 2] %}{{ a }}{{ b }}|{% set c %}inner {{ 1 }}{% endset %}{{ c }}|{% set d = 1, 2 %}{{ d }}"),
            "12|inner 1|(1, 2)");
}

TEST(JinjaInterpreter, GenerationBlockRendersItsBody) {
  EXPECT_EQ(render("{% generation %}gen {{ 1 }}{% endgeneration %}"), "gen 1");
}

TEST(JinjaInterpreter, IsTestsOnTypesAndValues) {
  EXPECT_EQ(render("{{ x is defined }}|{{ x is undefined }}|{{ none is none }}|{{ 1 is number }}|{{ true is number }}|"
                   "{{ true is integer }}|{{ 'a' is string }}|{{ {} is mapping }}|{{ 'a' is iterable }}|{{ 1 is iterable }}|"
                   "{{ [] is sequence }}"),
            "False|True|True|True|True|False|True|True|True|False|True");
  EXPECT_EQ(render("{{ false is false }}|{{ 0 is false }}|{{ true is true }}|{{ 1 is true }}|{{ 3 is odd }}|{{ 4 is divisibleby 2 }}|"
                   "{{ 'ab' is lower }}|{{ 'aB' is upper }}|{{ 2 is equalto 2 }}|{{ 2 is eq 2.0 }}"),
            "True|False|True|False|True|True|True|False|True|True");
  EXPECT_EQ(render("{{ x is not none }}|{{ not x is defined }}"), "True|True");
}

TEST(JinjaInterpreter, StringFilters) {
  EXPECT_EQ(render("{{ '  a b  '|trim }}|{{ 'xxaxx'|trim('x') }}|{{ [1,2,3]|length }}|{{ 'h\u00e9llo'|length }}|{{ {'a':1}|length }}|{{ x|length }}"),
            "a b|a|3|5|1|0");
  EXPECT_EQ(render("{{ 'Hello'|upper }}{{ 'Hello'|lower }}{{ 'hello world'|title }}{{ 'hello World'|capitalize }}"),
            "HELLOhelloHello WorldHello world");
  EXPECT_EQ(render("{{ 'a-b-c'|replace('-', '+') }}|{{ 'a-b-c'|replace('-', '+', 1) }}|{{ 1|string }}{{ none|string }}{{ true|string }}"),
            "a+b+c|a+b-c|1NoneTrue");
}

TEST(JinjaInterpreter, SequenceFilters) {
  EXPECT_EQ(render("{{ [1,2,3]|join(', ') }}|{{ [1,2,3]|join }}|{{ [1,2,3]|first }}|{{ [1,2,3]|last }}|{{ 'abc'|first }}|"
                   "{{ []|first }}|{{ 'abc'|list }}|{{ [3,1]|reverse|list }}"),
            "1, 2, 3|123|1|3|a||['a', 'b', 'c']|[1, 3]");
  EXPECT_EQ(render("{{ x|default('d') }}|{{ ''|default('d') }}|{{ ''|default('d', true) }}|{{ none|default('d') }}|{{ x|d('e') }}"),
            "d||d|None|e");
  EXPECT_EQ(render("{{ [{'r':'u'},{'r':'a'},{'r':'u'}]|selectattr('r','equalto','u')|list }}|"
                   "{{ [{'r':'u'},{'r':'a'}]|rejectattr('r','equalto','u')|list|length }}|"
                   "{{ ['a','b','c']|reject('equalto','b')|join(',') }}|{{ [0,1,2]|select|list }}"),
            "[{'r': 'u'}, {'r': 'u'}]|1|a,c|[1, 2]");
}

TEST(JinjaInterpreter, ToJsonIsTransformersJsonDumps) {
  EXPECT_EQ(render("{{ {'b': [1, '\u00e9', {'c': none}], 'a': 1.5}|tojson }}"), "{\"b\": [1, \"\xc3\xa9\", {\"c\": null}], \"a\": 1.5}");
  EXPECT_EQ(render("{{ {'b': 1, 'c': [1, {}], 'd': []}|tojson(indent=4) }}"),
            "{\n    \"b\": 1,\n    \"c\": [\n        1,\n        {}\n    ],\n    \"d\": []\n}");
  EXPECT_EQ(render("{{ \"x\\n\\\"y\"|tojson }}|{{ [1,2]|tojson(indent=2) }}|{{ {'b':1,'a':2}|tojson(sort_keys=true) }}"),
            "\"x\\n\\\"y\"|[\n  1,\n  2\n]|{\"a\": 2, \"b\": 1}");
}

TEST(JinjaInterpreter, StringAndDictMethods) {
  EXPECT_EQ(render("{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a b c'.split(' ', 1) }}|{{ 'abc'.startswith('ab') }}|"
                   "{{ 'abc'.endswith(('x','c')) }}|{{ '\\n x \\n'.strip() }}|{{ '\\n x \\n'.lstrip('\\n') }}|{{ '\\n x \\n'.rstrip('\\n') }}"),
            "['a', 'b', '', 'c']|['a', 'b']|['a', 'b c']|True|True|x| x \n|\n x ");
  EXPECT_EQ(render("{{ {'a': 1}.get('a') }}|{{ {'a': 1}.get('b') }}|{{ {'a': 1}.get('b', 2) }}"), "1|None|2");
  EXPECT_EQ(render("{{ 'x'.upper() }}{{ 'X'.lower() }}{{ 'a b'.title() }}|{{ ','.join(['a','b']) }}|{{ 'abc'.replace('b', 'B') }}|"
                   "{{ 'abcb'.find('b') }}"),
            "XxA B|a,b|aBc|1");
}

TEST(JinjaInterpreter, RangeDictNamespace) {
  EXPECT_EQ(render("{{ range(3)|list }}|{{ range(1, 7, 2)|list }}|{{ dict(a=1) }}|{{ namespace(a=1).a }}|{{ [1,2,3][1:]|length }}"),
            "[0, 1, 2]|[1, 3, 5]|{'a': 1}|1|2");
}

TEST(JinjaInterpreter, JsonVariablesKeepKeyOrderAndTypes) {
  const Json vars = Json::parse(R"({"d": {"z": 1, "a": [true, null, 2.5, "s"]}})");
  EXPECT_EQ(render("{{ d }}|{{ d|tojson }}", vars), "{'z': 1, 'a': [True, None, 2.5, 's']}|{\"z\": 1, \"a\": [true, null, 2.5, \"s\"]}");
}

}  // namespace
