// The Jinja parser (parser.h). Precedence, lowest first, as jinja2/parser.py: conditional (a if b else c),
// or, and, not, comparisons and in/not in, + -, ~, * / // %, **, unary - +, then postfix (.attr, [i],
// [a:b:c], calls) bound tighter than filters (|f) and tests (is t), so `- x | abs` is `(-x) | abs` and
// `a + b | trim` is `a + (b | trim)`.
#include "tokenizer/jinja/parser.h"

#include <set>

#include "tokenizer/jinja/lexer.h"

namespace trl::tokenizer::jinja {
namespace {

using Type = Token::Type;

ExprPtr make_expr(Expr::Kind kind, SourcePos pos) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->pos = pos;
  return e;
}

ExprPtr make_binary(const std::string& op, ExprPtr left, ExprPtr right) {
  ExprPtr e = make_expr(Expr::Kind::binary, left->pos);
  e->name = op;
  e->children.push_back(std::move(left));
  e->children.push_back(std::move(right));
  return e;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  Body parse_all() {
    Body body = parse_body({});
    if (peek().type != Type::end_of_input) fail(peek().pos, "unexpected tag");
    return body;
  }

 private:
  const Token& peek(size_t ahead = 0) const { return tokens_[std::min(index_ + ahead, tokens_.size() - 1)]; }
  const Token& next() { return tokens_[std::min(index_++, tokens_.size() - 1)]; }
  bool at_op(const char* op) const { return peek().type == Type::op && peek().text == op; }
  bool at_name(const char* name) const { return peek().type == Type::name && peek().text == name; }

  [[noreturn]] static void fail(SourcePos pos, const std::string& message) { throw TemplateSyntaxError(pos, message); }

  static std::string describe(const Token& t) {
    switch (t.type) {
      case Type::end_of_input: return "end of template";
      case Type::block_end: return "end of statement block";
      case Type::variable_end: return "end of print statement";
      case Type::data: return "template data";
      case Type::string: return "string";
      case Type::integer:
      case Type::floating: return "number";
      default: return "'" + t.text + "'";
    }
  }

  void expect_op(const char* op) {
    if (!at_op(op)) fail(peek().pos, std::string("expected '") + op + "', got " + describe(peek()));
    next();
  }
  std::string expect_name() {
    if (peek().type != Type::name) fail(peek().pos, "expected a name, got " + describe(peek()));
    return next().text;
  }
  void expect_block_end() {
    if (peek().type != Type::block_end) fail(peek().pos, "expected end of statement block, got " + describe(peek()));
    next();
  }

  // Statements up to a {% tag %} whose name is in `end_tags` (the cursor is left on that name).
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

  // An expression, or several separated by commas (a tuple without parentheses).
  ExprPtr parse_tuple(bool with_conditional) {
    const SourcePos pos = peek().pos;
    ExprPtr first = with_conditional ? parse_conditional() : parse_or();
    if (!at_op(",")) return first;
    ExprPtr tuple = make_expr(Expr::Kind::tuple, pos);
    tuple->children.push_back(std::move(first));
    while (at_op(",")) {
      next();
      if (peek().type == Type::block_end || peek().type == Type::variable_end || at_name("in")) break;
      tuple->children.push_back(with_conditional ? parse_conditional() : parse_or());
    }
    return tuple;
  }

  ExprPtr parse_conditional() {
    ExprPtr expr = parse_or();
    while (at_name("if")) {
      next();
      ExprPtr condition = parse_or();
      ExprPtr otherwise;
      if (at_name("else")) {
        next();
        otherwise = parse_conditional();
      }
      ExprPtr node = make_expr(Expr::Kind::conditional, expr->pos);
      node->children.push_back(std::move(expr));
      node->children.push_back(std::move(condition));
      node->children.push_back(std::move(otherwise));
      expr = std::move(node);
    }
    return expr;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (at_name("or")) {
      next();
      left = make_binary("or", std::move(left), parse_and());
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (at_name("and")) {
      next();
      left = make_binary("and", std::move(left), parse_not());
    }
    return left;
  }

  ExprPtr parse_not() {
    if (at_name("not")) {
      const SourcePos pos = next().pos;
      ExprPtr node = make_expr(Expr::Kind::unary, pos);
      node->name = "not";
      node->children.push_back(parse_not());
      return node;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    ExprPtr left = parse_math1();
    bool compared = false;
    while (true) {
      std::string op;
      if (peek().type == Type::op &&
          (peek().text == "==" || peek().text == "!=" || peek().text == "<" || peek().text == ">" ||
           peek().text == "<=" || peek().text == ">=")) {
        op = peek().text;
        next();
      } else if (at_name("in")) {
        op = "in";
        next();
      } else if (at_name("not") && peek(1).type == Type::name && peek(1).text == "in") {
        op = "not in";
        next();
        next();
      } else {
        return left;
      }
      // Python reads a < b < c as a < b and b < c; no chat template chains comparisons.
      if (compared) fail(left->pos, "chained comparisons are not supported by trl-host's Jinja interpreter");
      compared = true;
      left = make_binary(op, std::move(left), parse_math1());
    }
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (at_op("+") || at_op("-")) {
      const std::string op = next().text;
      left = make_binary(op, std::move(left), parse_concat());
    }
    return left;
  }

  ExprPtr parse_concat() {
    ExprPtr left = parse_math2();
    while (at_op("~")) {
      next();
      left = make_binary("~", std::move(left), parse_math2());
    }
    return left;
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (at_op("*") || at_op("/") || at_op("//") || at_op("%")) {
      const std::string op = next().text;
      left = make_binary(op, std::move(left), parse_pow());
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(/*with_filter=*/true);
    while (at_op("**")) {
      next();
      left = make_binary("**", std::move(left), parse_unary(/*with_filter=*/true));
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    ExprPtr node;
    if (at_op("-") || at_op("+")) {
      const Token& t = next();
      node = make_expr(Expr::Kind::unary, t.pos);
      node->name = t.text;
      node->children.push_back(parse_unary(/*with_filter=*/false));
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filter_expr(std::move(node));
    return node;
  }

  ExprPtr parse_primary() {
    const Token& t = peek();
    switch (t.type) {
      case Type::name: {
        next();
        if (t.text == "true" || t.text == "True" || t.text == "false" || t.text == "False") {
          ExprPtr e = make_expr(Expr::Kind::literal, t.pos);
          e->value = Value::boolean(t.text == "true" || t.text == "True");
          return e;
        }
        if (t.text == "none" || t.text == "None") {
          ExprPtr e = make_expr(Expr::Kind::literal, t.pos);
          e->value = Value::none();
          return e;
        }
        ExprPtr e = make_expr(Expr::Kind::name, t.pos);
        e->name = t.text;
        return e;
      }
      case Type::string: {
        const SourcePos pos = t.pos;
        std::string value;
        while (peek().type == Type::string) value += next().text;  // adjacent literals concatenate
        ExprPtr e = make_expr(Expr::Kind::literal, pos);
        e->value = Value::string(std::move(value));
        return e;
      }
      case Type::integer: {
        next();
        ExprPtr e = make_expr(Expr::Kind::literal, t.pos);
        e->value = Value::integer(t.int_value);
        return e;
      }
      case Type::floating: {
        next();
        ExprPtr e = make_expr(Expr::Kind::literal, t.pos);
        e->value = Value::floating(t.float_value);
        return e;
      }
      case Type::op:
        if (t.text == "(") return parse_parenthesized();
        if (t.text == "[") return parse_list();
        if (t.text == "{") return parse_dict();
        break;
      default: break;
    }
    fail(t.pos, "unexpected " + describe(t));
  }

  ExprPtr parse_parenthesized() {
    const SourcePos pos = next().pos;
    if (at_op(")")) {
      next();
      return make_expr(Expr::Kind::tuple, pos);
    }
    ExprPtr first = parse_conditional();
    if (at_op(")")) {
      next();
      return first;
    }
    ExprPtr tuple = make_expr(Expr::Kind::tuple, pos);
    tuple->children.push_back(std::move(first));
    while (at_op(",")) {
      next();
      if (at_op(")")) break;
      tuple->children.push_back(parse_conditional());
    }
    expect_op(")");
    return tuple;
  }

  ExprPtr parse_list() {
    ExprPtr list = make_expr(Expr::Kind::list, next().pos);
    while (!at_op("]")) {
      if (!list->children.empty()) expect_op(",");
      if (at_op("]")) break;
      list->children.push_back(parse_conditional());
    }
    next();
    return list;
  }

  ExprPtr parse_dict() {
    ExprPtr dict = make_expr(Expr::Kind::dict, next().pos);
    while (!at_op("}")) {
      if (!dict->children.empty()) expect_op(",");
      if (at_op("}")) break;
      dict->children.push_back(parse_conditional());
      expect_op(":");
      dict->children.push_back(parse_conditional());
    }
    next();
    return dict;
  }

  ExprPtr parse_postfix(ExprPtr node) {
    while (true) {
      if (at_op(".")) {
        next();
        const Token& t = next();
        if (t.type == Type::name) {
          ExprPtr e = make_expr(Expr::Kind::attribute, node->pos);
          e->name = t.text;
          e->children.push_back(std::move(node));
          node = std::move(e);
        } else if (t.type == Type::integer) {
          ExprPtr index = make_expr(Expr::Kind::literal, t.pos);
          index->value = Value::integer(t.int_value);
          ExprPtr e = make_expr(Expr::Kind::subscript, node->pos);
          e->children.push_back(std::move(node));
          e->children.push_back(std::move(index));
          node = std::move(e);
        } else {
          fail(t.pos, "expected a name after '.', got " + describe(t));
        }
      } else if (at_op("[")) {
        node = parse_subscript(std::move(node));
      } else if (at_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr target) {
    next();  // [
    ExprPtr bounds[3];
    bool is_slice = false;
    for (int part = 0; part < 3; ++part) {
      if (!at_op(":") && !at_op("]")) bounds[part] = parse_conditional();
      if (at_op(":") && part < 2) {
        next();
        is_slice = true;
        continue;
      }
      break;
    }
    if (at_op(",")) fail(peek().pos, "tuple subscripts are not supported by trl-host's Jinja interpreter");
    expect_op("]");
    if (!is_slice) {
      if (!bounds[0]) fail(target->pos, "expected an index inside []");
      ExprPtr e = make_expr(Expr::Kind::subscript, target->pos);
      e->children.push_back(std::move(target));
      e->children.push_back(std::move(bounds[0]));
      return e;
    }
    ExprPtr e = make_expr(Expr::Kind::slice, target->pos);
    e->children.push_back(std::move(target));
    for (auto& b : bounds) e->children.push_back(std::move(b));
    return e;
  }

  // Arguments "(a, b, key=c)" into node->children (after what is already there) and node->keywords.
  void parse_arguments(Expr& node) {
    expect_op("(");
    bool first = true;
    while (!at_op(")")) {
      if (!first) expect_op(",");
      first = false;
      if (at_op(")")) break;
      if (at_op("*") || at_op("**")) fail(peek().pos, "*args and **kwargs are not supported by trl-host's Jinja interpreter");
      if (peek().type == Type::name && peek(1).type == Type::op && peek(1).text == "=") {
        const std::string key = next().text;
        next();
        node.keywords.emplace_back(key, parse_conditional());
      } else {
        if (!node.keywords.empty()) fail(peek().pos, "positional argument after keyword argument");
        node.children.push_back(parse_conditional());
      }
    }
    next();
  }

  ExprPtr parse_call(ExprPtr callee) {
    ExprPtr e = make_expr(Expr::Kind::call, callee->pos);
    e->children.push_back(std::move(callee));
    parse_arguments(*e);
    return e;
  }

  ExprPtr parse_filter_expr(ExprPtr node) {
    while (true) {
      if (at_op("|")) {
        next();
        const SourcePos pos = peek().pos;
        const std::string name = expect_name();
        if (!is_known_filter(name)) fail(pos, "no filter named '" + name + "' (not supported by trl-host's Jinja interpreter)");
        ExprPtr e = make_expr(Expr::Kind::filter, pos);
        e->name = name;
        e->children.push_back(std::move(node));
        if (at_op("(")) parse_arguments(*e);
        node = std::move(e);
      } else if (at_name("is")) {
        next();
        ExprPtr e = make_expr(Expr::Kind::test, node->pos);
        if (at_name("not")) {
          next();
          e->negated = true;
        }
        const SourcePos pos = peek().pos;
        e->name = expect_name();
        if (!is_known_test(e->name)) fail(pos, "no test named '" + e->name + "' (not supported by trl-host's Jinja interpreter)");
        e->children.push_back(std::move(node));
        const Token& t = peek();
        if (at_op("(")) {
          parse_arguments(*e);
        } else if ((t.type == Type::name || t.type == Type::string || t.type == Type::integer || t.type == Type::floating ||
                    at_op("[") || at_op("{")) &&
                   !(t.type == Type::name && (t.text == "else" || t.text == "or" || t.text == "and"))) {
          // jinja2 takes one argument without parentheses: `x is equalto 3`, `x is sameas false`.
          if (at_name("is")) fail(t.pos, "You cannot chain multiple tests with is");
          e->children.push_back(parse_postfix(parse_primary()));
        }
        node = std::move(e);
      } else if (at_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  std::vector<Token> tokens_;
  size_t index_ = 0;
  int loop_depth_ = 0;
};

}  // namespace

Body parse_template(const std::string& source) { return Parser(tokenize(source)).parse_all(); }

}  // namespace trl::tokenizer::jinja
