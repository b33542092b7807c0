// The Jinja parser (parser.h): statements and the template's structure; expressions come from
// ExpressionParser (expression_parser.h).
#include "tokenizer/jinja/parser.h"

#include <set>

#include "tokenizer/jinja/expression_parser.h"
#include "tokenizer/jinja/lexer.h"

namespace trl::tokenizer::jinja {
namespace {

class Parser : public ExpressionParser {
 public:
  using ExpressionParser::ExpressionParser;

  Body parse_all() {
    Body body = parse_body({});
    if (peek().type != Type::end_of_input) fail(peek().pos, "unexpected tag");
    return body;
  }

 private:
  Body parse_body(const std::set<std::string>& end_tags) {
    Body body;
    while (true) {
      const Token& t = peek();
      if (t.type == Type::end_of_input) {
        if (!end_tags.empty()) fail(t.pos, "unexpected end of template; expected one of: " + join(end_tags));
        return body;
      }
      if (t.type == Type::data) {
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::text;
        s->pos = t.pos;
        s->text = t.text;
        body.push_back(std::move(s));
        next();
      } else if (t.type == Type::variable_begin) {
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::output;
        s->pos = t.pos;
        next();
        s->expr = parse_tuple(/*with_conditional=*/true);
        if (peek().type != Type::variable_end) fail(peek().pos, "expected end of print statement, got " + describe(peek()));
        next();
        body.push_back(std::move(s));
      } else if (t.type == Type::block_begin) {
        const Token& tag = peek(1);
        if (tag.type == Type::name && end_tags.count(tag.text)) {
          next();
          return body;
        }
        body.push_back(parse_statement());
      } else {
        fail(t.pos, "unexpected " + describe(t));
      }
    }
  }

  static std::string join(const std::set<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "'" : ", '") + n + "'";
    return out;
  }

  std::unique_ptr<Stmt> parse_statement() {
    const SourcePos pos = next().pos;  // {%
    if (peek().type != Type::name) fail(peek().pos, "tag name expected");
    const std::string tag = next().text;
    auto s = std::make_unique<Stmt>();
    s->pos = pos;
    if (tag == "if") {
      parse_if(*s);
    } else if (tag == "for") {
      parse_for(*s);
    } else if (tag == "set") {
      parse_set(*s);
    } else if (tag == "break" || tag == "continue") {
      s->kind = tag == "break" ? Stmt::Kind::loop_break : Stmt::Kind::loop_continue;
      if (loop_depth_ == 0) fail(pos, "'" + tag + "' outside of a for loop");
      expect_block_end();
    } else if (tag == "generation") {
      s->kind = Stmt::Kind::generation;
      expect_block_end();
      s->body = parse_body({"endgeneration"});
      next();
      expect_block_end();
    } else if (tag == "macro" || tag == "call" || tag == "filter" || tag == "with" || tag == "include" ||
               tag == "import" || tag == "from" || tag == "extends" || tag == "block" || tag == "raw" ||
               tag == "autoescape" || tag == "do") {
      fail(pos, "the '" + tag + "' tag is not supported by trl-host's Jinja interpreter");
    } else {
      fail(pos, "encountered unknown tag '" + tag + "'");
    }
    return s;
  }

  void parse_if(Stmt& s) {
    s.kind = Stmt::Kind::if_chain;
    while (true) {
      ExprPtr condition = parse_tuple(/*with_conditional=*/false);
      expect_block_end();
      Body body = parse_body({"elif", "else", "endif"});
      s.branches.emplace_back(std::move(condition), std::move(body));
      const std::string tag = next().text;
      if (tag == "elif") continue;
      if (tag == "else") {
        expect_block_end();
        s.else_body = parse_body({"endif"});
        next();
      }
      expect_block_end();
      return;
    }
  }

  void parse_for(Stmt& s) {
    s.kind = Stmt::Kind::for_loop;
    s.targets.push_back(expect_name());
    while (at_op(",")) {
      next();
      s.targets.push_back(expect_name());
    }
    if (!at_name("in")) fail(peek().pos, "expected 'in', got " + describe(peek()));
    next();
    s.expr = parse_tuple(/*with_conditional=*/false);
    if (at_name("if")) {
      next();
      s.filter = parse_tuple(/*with_conditional=*/true);
    }
    if (at_name("recursive")) fail(peek().pos, "recursive loops are not supported by trl-host's Jinja interpreter");
    expect_block_end();
    ++loop_depth_;
    s.body = parse_body({"endfor", "else"});
    --loop_depth_;
    if (next().text == "else") {
      expect_block_end();
      s.else_body = parse_body({"endfor"});
      next();
    }
    expect_block_end();
  }

  void parse_set(Stmt& s) {
    const std::string first = expect_name();
    if (at_op(".")) {
      next();
      s.kind = Stmt::Kind::set_attribute;
      s.targets.push_back(first);
      s.attribute = expect_name();
      expect_op("=");
      s.expr = parse_tuple(/*with_conditional=*/true);
      expect_block_end();
      return;
    }
    s.targets.push_back(first);
    while (at_op(",")) {
      next();
      s.targets.push_back(expect_name());
    }
    if (peek().type == Type::block_end && s.targets.size() == 1) {
      s.kind = Stmt::Kind::set_block;
      next();
      s.body = parse_body({"endset"});
      next();
      expect_block_end();
      return;
    }
    s.kind = Stmt::Kind::set;
    expect_op("=");
    s.expr = parse_tuple(/*with_conditional=*/true);
    expect_block_end();
  }


  int loop_depth_ = 0;
};

}  // namespace

Body parse_template(const std::string& source) { return Parser(tokenize(source)).parse_all(); }

}  // namespace trl::tokenizer::jinja
