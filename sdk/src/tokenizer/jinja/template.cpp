// Rendering a parsed template (template.h). Scopes follow jinja2: the caller's variables, then the
// template's top-level `set`s, then one fresh frame per loop iteration (a `set` inside a loop body is
// gone at the next iteration and after the loop; `if` opens no scope). Errors raised below without a
// position get the position of the innermost expression or statement that was running.
#include "tokenizer/jinja/template.h"

#include <optional>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/operators.h"
#include "tokenizer/jinja/parser.h"
#include "tokenizer/jinja/py_string.h"

namespace trl::tokenizer::jinja {
namespace {

// jinja2's sandbox refuses range() results longer than this (MAX_RANGE).
constexpr int64_t kMaxRange = 100000;

enum class Flow { normal, break_loop, continue_loop };

Value range_function(const CallArgs& args) {
  if (!args.keywords.empty() || args.positional.empty() || args.positional.size() > 3) {
    throw TemplateRuntimeError({}, "range expected 1 to 3 integer arguments");
  }
  for (const Value& v : args.positional) {
    if (!v.is_integral()) throw TemplateRuntimeError({}, "'" + v.type_name() + "' object cannot be interpreted as an integer");
  }
  const int64_t start = args.positional.size() == 1 ? 0 : args.positional[0].as_int();
  const int64_t stop = args.positional.size() == 1 ? args.positional[0].as_int() : args.positional[1].as_int();
  const int64_t step = args.positional.size() == 3 ? args.positional[2].as_int() : 1;
  if (step == 0) throw TemplateRuntimeError({}, "range() arg 3 must not be zero");
  List out;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    if (static_cast<int64_t>(out.size()) >= kMaxRange) {
      throw TemplateRuntimeError({}, "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
    }
    out.push_back(Value::integer(i));
  }
  return Value::list(std::move(out));
}

Value keywords_to_dict(const CallArgs& args, const char* what) {
  if (!args.positional.empty()) throw TemplateRuntimeError({}, std::string(what) + "() takes keyword arguments only");
  Dict d;
  for (const auto& [k, v] : args.keywords) d.set(k, v);
  return Value::dict(std::move(d));
}

const Dict& builtin_globals() {
  static const Dict kGlobals = [] {
    Dict g;
    g.set("range", Value::callable("range", range_function));
    g.set("namespace", Value::callable("namespace", [](const CallArgs& args) {
            return Value::namespace_object(keywords_to_dict(args, "namespace").as_dict());
          }));
    g.set("dict", Value::callable("dict", [](const CallArgs& args) { return keywords_to_dict(args, "dict"); }));
    return g;
  }();
  return kGlobals;
}

using Frame = std::vector<std::pair<std::string, Value>>;

class Renderer {
 public:
  Renderer(const Dict& variables, std::string& out) : variables_(variables), out_(&out) { frames_.emplace_back(); }

  Flow exec_body(const Body& body) {
    for (const auto& stmt : body) {
      const Flow flow = exec_at(*stmt);
      if (flow != Flow::normal) return flow;
    }
    return Flow::normal;
  }

 private:
  Flow exec_at(const Stmt& s) {
    try {
      return exec(s);
    } catch (const TemplateRaisedError& e) {
      if (e.pos().line) throw;
      throw TemplateRaisedError(s.pos, e.message());
    } catch (const TemplateRuntimeError& e) {
      if (e.pos().line) throw;
      throw TemplateRuntimeError(s.pos, e.message());
    }
  }

  Flow exec(const Stmt& s) {
    switch (s.kind) {
      case Stmt::Kind::text: *out_ += s.text; return Flow::normal;
      case Stmt::Kind::output: *out_ += eval(*s.expr).str(); return Flow::normal;
      case Stmt::Kind::if_chain:
        for (const auto& [condition, body] : s.branches) {
          if (eval(*condition).truthy()) return exec_body(body);
        }
        return exec_body(s.else_body);
      case Stmt::Kind::for_loop: return exec_for(s);
      case Stmt::Kind::set: assign(s.targets, eval(*s.expr)); return Flow::normal;
      case Stmt::Kind::set_attribute: {
        const Value target = lookup(s.targets[0]);
        if (target.kind() != Value::Kind::namespace_object) {
          throw TemplateRuntimeError(s.pos, "cannot assign attribute on non-namespace object");
        }
        target.namespace_attributes().set(s.attribute, eval(*s.expr));
        return Flow::normal;
      }
      case Stmt::Kind::set_block: {
        std::string captured;
        std::string* const saved = out_;
        out_ = &captured;
        exec_body(s.body);
        out_ = saved;
        assign(s.targets, Value::string(captured));
        return Flow::normal;
      }
      case Stmt::Kind::loop_break: return Flow::break_loop;
      case Stmt::Kind::loop_continue: return Flow::continue_loop;
      case Stmt::Kind::generation: return exec_body(s.body);
    }
    return Flow::normal;
  }

  Flow exec_for(const Stmt& s) {
    const Value iterable = eval(*s.expr);
    std::vector<Value> all;
    try {
      all = iterate(iterable);
    } catch (const TemplateRuntimeError& e) {
      if (e.pos().line) throw;
      throw TemplateRuntimeError(s.expr->pos, e.message());
    }
    std::vector<Value> items;
    for (Value& item : all) {
      if (s.filter) {
        frames_.emplace_back();
        bind_targets(s.targets, item);
        const bool keep = eval(*s.filter).truthy();
        frames_.pop_back();
        if (!keep) continue;
      }
      items.push_back(std::move(item));
    }
    if (items.empty()) return exec_body(s.else_body);
    const int64_t n = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < n; ++i) {
      frames_.emplace_back();
      bind_targets(s.targets, items[i]);
      set_local("loop", loop_object(items, i));
      const Flow flow = exec_body(s.body);
      frames_.pop_back();
      if (flow == Flow::break_loop) break;
    }
    return Flow::normal;
  }

  static Value loop_object(const std::vector<Value>& items, int64_t i) {
    const int64_t n = static_cast<int64_t>(items.size());
    Dict loop;
    loop.set("index0", Value::integer(i));
    loop.set("index", Value::integer(i + 1));
    loop.set("revindex0", Value::integer(n - i - 1));
    loop.set("revindex", Value::integer(n - i));
    loop.set("first", Value::boolean(i == 0));
    loop.set("last", Value::boolean(i == n - 1));
    loop.set("length", Value::integer(n));
    loop.set("depth", Value::integer(1));
    loop.set("depth0", Value::integer(0));
    loop.set("previtem", i > 0 ? items[i - 1] : Value::undefined("there is no previous item"));
    loop.set("nextitem", i + 1 < n ? items[i + 1] : Value::undefined("there is no next item"));
    loop.set("cycle", Value::callable("loop.cycle", [i](const CallArgs& args) {
               if (args.positional.empty()) throw TemplateRuntimeError({}, "no items for cycling given");
               return args.positional[static_cast<size_t>(i) % args.positional.size()];
             }));
    return Value::dict(std::move(loop));
  }

  void bind_targets(const std::vector<std::string>& targets, const Value& value) {
    if (targets.size() == 1) {
      set_local(targets[0], value);
      return;
    }
    const std::vector<Value> parts = iterate(value);
    if (parts.size() != targets.size()) {
      throw TemplateRuntimeError({}, parts.size() < targets.size()
                                         ? "not enough values to unpack (expected " + std::to_string(targets.size()) + ", got " + std::to_string(parts.size()) + ")"
                                         : "too many values to unpack (expected " + std::to_string(targets.size()) + ")");
    }
    for (size_t i = 0; i < targets.size(); ++i) set_local(targets[i], parts[i]);
  }

  void assign(const std::vector<std::string>& targets, const Value& value) { bind_targets(targets, value); }

  void set_local(const std::string& name, Value value) {
    Frame& frame = frames_.back();
    for (auto& [k, v] : frame) {
      if (k == name) {
        v = std::move(value);
        return;
      }
    }
    frame.emplace_back(name, std::move(value));
  }

  Value lookup(const std::string& name) const {
    for (auto frame = frames_.rbegin(); frame != frames_.rend(); ++frame) {
      for (const auto& [k, v] : *frame) {
        if (k == name) return v;
      }
    }
    if (const Value* v = variables_.find(name)) return *v;
    if (const Value* v = builtin_globals().find(name)) return *v;
    return Value::undefined("'" + name + "' is undefined");
  }

  Value eval(const Expr& e) {
    try {
      return eval_node(e);
    } catch (const TemplateRaisedError& err) {
      if (err.pos().line) throw;
      throw TemplateRaisedError(e.pos, err.message());
    } catch (const TemplateRuntimeError& err) {
      if (err.pos().line) throw;
      throw TemplateRuntimeError(e.pos, err.message());
    }
  }

  std::optional<int64_t> slice_bound(const ExprPtr& e) {
    if (!e) return std::nullopt;
    const Value v = eval(*e);
    if (v.is_none()) return std::nullopt;
    if (!v.is_integral()) throw TemplateRuntimeError(e->pos, "slice indices must be integers or None");
    return v.as_int();
  }

  CallArgs eval_arguments(const Expr& e, size_t first) {
    CallArgs args;
    for (size_t i = first; i < e.children.size(); ++i) args.positional.push_back(eval(*e.children[i]));
    for (const auto& [k, v] : e.keywords) args.keywords.emplace_back(k, eval(*v));
    return args;
  }

  Value eval_node(const Expr& e) {
    switch (e.kind) {
      case Expr::Kind::literal: return e.value;
      case Expr::Kind::name: return lookup(e.name);
      case Expr::Kind::list:
      case Expr::Kind::tuple: {
        List items;
        for (const auto& child : e.children) items.push_back(eval(*child));
        return e.kind == Expr::Kind::tuple ? Value::tuple(std::move(items)) : Value::list(std::move(items));
      }
      case Expr::Kind::dict: {
        Dict d;
        for (size_t i = 0; i + 1 < e.children.size(); i += 2) {
          const Value key = eval(*e.children[i]);
          if (!key.is_string()) throw TemplateRuntimeError(e.children[i]->pos, "only string dict keys are supported by trl-host's Jinja interpreter");
          d.set(key.as_string(), eval(*e.children[i + 1]));
        }
        return Value::dict(std::move(d));
      }
      case Expr::Kind::attribute: return get_attribute(eval(*e.children[0]), e.name);
      case Expr::Kind::subscript: return get_item(eval(*e.children[0]), eval(*e.children[1]));
      case Expr::Kind::slice: return eval_slice(e);
      case Expr::Kind::call: {
        const Value callee = eval(*e.children[0]);
        if (callee.kind() != Value::Kind::callable) {
          if (callee.is_undefined()) throw TemplateRuntimeError({}, callee.undefined_hint());
          throw TemplateRuntimeError({}, "'" + callee.type_name() + "' object is not callable");
        }
        return callee.as_callable().function(eval_arguments(e, 1));
      }
      case Expr::Kind::filter: return apply_filter(e.name, eval(*e.children[0]), eval_arguments(e, 1));
      case Expr::Kind::test: {
        const bool result = apply_test(e.name, eval(*e.children[0]), eval_arguments(e, 1));
        return Value::boolean(result != e.negated);
      }
      case Expr::Kind::unary:
        if (e.name == "not") return Value::boolean(!eval(*e.children[0]).truthy());
        return unary_operator(e.name, eval(*e.children[0]));
      case Expr::Kind::binary: {
        // and/or return an operand, as in Python, and short-circuit.
        if (e.name == "and" || e.name == "or") {
          Value left = eval(*e.children[0]);
          if (left.truthy() == (e.name == "or")) return left;
          return eval(*e.children[1]);
        }
        return binary_operator(e.name, eval(*e.children[0]), eval(*e.children[1]));
      }
      case Expr::Kind::conditional:
        if (eval(*e.children[1]).truthy()) return eval(*e.children[0]);
        if (e.children[2]) return eval(*e.children[2]);
        return Value::undefined("the inline if-expression on line " + std::to_string(e.pos.line) + " evaluated to false and no else section was defined.");
    }
    throw TemplateRuntimeError(e.pos, "bug: unknown expression kind");
  }

  Value eval_slice(const Expr& e) {
    const Value target = eval(*e.children[0]);
    const auto start = slice_bound(e.children[1]);
    const auto stop = slice_bound(e.children[2]);
    const auto step = slice_bound(e.children[3]);
    if (target.is_string()) {
      const std::u32string cps = to_code_points(target.as_string());
      std::u32string out;
      for (int64_t i : slice_indices(static_cast<int64_t>(cps.size()), start, stop, step)) out += cps[i];
      return Value::string(from_code_points(out));
    }
    if (target.kind() == Value::Kind::list) {
      List out;
      for (int64_t i : slice_indices(static_cast<int64_t>(target.as_list().size()), start, stop, step)) out.push_back(target.as_list()[i]);
      return Value::list(std::move(out));
    }
    if (target.is_undefined()) throw TemplateRuntimeError({}, target.undefined_hint());
    return Value::undefined("'" + target.type_name() + " object' cannot be sliced");
  }

  const Dict& variables_;
  std::string* out_;
  std::vector<Frame> frames_;
};

}  // namespace

Template::Template(const std::string& source) : body_(std::make_shared<const Body>(parse_template(source))) {}

std::string Template::render(const Dict& variables) const {
  std::string out;
  Renderer renderer(variables, out);
  renderer.exec_body(*body_);
  return out;
}

}  // namespace trl::tokenizer::jinja
