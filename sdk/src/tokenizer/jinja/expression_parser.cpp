// The expression parser (expression_parser.h).
#include "tokenizer/jinja/expression_parser.h"

#include "tokenizer/jinja/parser.h"

namespace trl::tokenizer::jinja {
namespace {


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

}  // namespace

ExprPtr ExpressionParser::parse_tuple(bool with_conditional) {
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

ExprPtr ExpressionParser::parse_conditional() {
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

ExprPtr ExpressionParser::parse_or() {
  ExprPtr left = parse_and();
  while (at_name("or")) {
    next();
    left = make_binary("or", std::move(left), parse_and());
  }
  return left;
}

ExprPtr ExpressionParser::parse_and() {
  ExprPtr left = parse_not();
  while (at_name("and")) {
    next();
    left = make_binary("and", std::move(left), parse_not());
  }
  return left;
}

ExprPtr ExpressionParser::parse_not() {
  if (at_name("not")) {
    const SourcePos pos = next().pos;
    ExprPtr node = make_expr(Expr::Kind::unary, pos);
    node->name = "not";
    node->children.push_back(parse_not());
    return node;
  }
  return parse_compare();
}

ExprPtr ExpressionParser::parse_compare() {
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

ExprPtr ExpressionParser::parse_math1() {
  ExprPtr left = parse_concat();
  while (at_op("+") || at_op("-")) {
    const std::string op = next().text;
    left = make_binary(op, std::move(left), parse_concat());
  }
  return left;
}

ExprPtr ExpressionParser::parse_concat() {
  ExprPtr left = parse_math2();
  while (at_op("~")) {
    next();
    left = make_binary("~", std::move(left), parse_math2());
  }
  return left;
}

ExprPtr ExpressionParser::parse_math2() {
  ExprPtr left = parse_pow();
  while (at_op("*") || at_op("/") || at_op("//") || at_op("%")) {
    const std::string op = next().text;
    left = make_binary(op, std::move(left), parse_pow());
  }
  return left;
}

ExprPtr ExpressionParser::parse_pow() {
  ExprPtr left = parse_unary(/*with_filter=*/true);
  while (at_op("**")) {
    next();
    left = make_binary("**", std::move(left), parse_unary(/*with_filter=*/true));
  }
  return left;
}

ExprPtr ExpressionParser::parse_unary(bool with_filter) {
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

ExprPtr ExpressionParser::parse_primary() {
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

ExprPtr ExpressionParser::parse_parenthesized() {
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

ExprPtr ExpressionParser::parse_list() {
  ExprPtr list = make_expr(Expr::Kind::list, next().pos);
  while (!at_op("]")) {
    if (!list->children.empty()) expect_op(",");
    if (at_op("]")) break;
    list->children.push_back(parse_conditional());
  }
  next();
  return list;
}

ExprPtr ExpressionParser::parse_dict() {
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

ExprPtr ExpressionParser::parse_postfix(ExprPtr node) {
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

ExprPtr ExpressionParser::parse_subscript(ExprPtr target) {
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
void ExpressionParser::parse_arguments(Expr& node) {
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

ExprPtr ExpressionParser::parse_call(ExprPtr callee) {
  ExprPtr e = make_expr(Expr::Kind::call, callee->pos);
  e->children.push_back(std::move(callee));
  parse_arguments(*e);
  return e;
}

ExprPtr ExpressionParser::parse_filter_expr(ExprPtr node) {
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

}  // namespace trl::tokenizer::jinja
