// json.dumps as transformers' tojson filter calls it (builtins.h): ensure_ascii=False by default,
// separators (", ", ": ") without indent and (",", ": ") with one, floats as Python's repr, NaN and
// Infinity spelled as Python spells them, keys in insertion order unless sort_keys.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/py_string.h"

namespace trl::tokenizer::jinja {
namespace {

struct JsonStyle {
  bool ensure_ascii;
  std::string indent;  // per level; used when has_indent
  bool has_indent;
  std::string item_separator;
  std::string key_separator;
  bool sort_keys;
};

void append_escaped(std::string& out, const std::string& text, bool ensure_ascii) {
  out += '"';
  auto append_u = [&](unsigned code) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "\\u%04x", code);
    out += buf;
  };
  for (char32_t c : to_code_points(text)) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          append_u(c);
        } else if (ensure_ascii && c > 0x7E) {
          if (c >= 0x10000) {
            const unsigned v = c - 0x10000;
            append_u(0xD800 + (v >> 10));
            append_u(0xDC00 + (v & 0x3FF));
          } else {
            append_u(c);
          }
        } else {
          out += from_code_points(std::u32string(1, c));
        }
    }
  }
  out += '"';
}

void dump(std::string& out, const Value& value, const JsonStyle& style, int depth) {
  const auto newline = [&](int level) {
    out += '\n';
    for (int i = 0; i < level; ++i) out += style.indent;
  };
  switch (value.kind()) {
    case Value::Kind::none: out += "null"; return;
    case Value::Kind::boolean: out += value.as_bool() ? "true" : "false"; return;
    case Value::Kind::integer: out += std::to_string(value.as_int()); return;
    case Value::Kind::floating: {
      const double f = value.as_double();
      if (std::isnan(f)) out += "NaN";
      else if (std::isinf(f)) out += f > 0 ? "Infinity" : "-Infinity";
      else out += python_float_repr(f);
      return;
    }
    case Value::Kind::string: append_escaped(out, value.as_string(), style.ensure_ascii); return;
    case Value::Kind::list: {
      const List& items = value.as_list();
      if (items.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += style.item_separator;
        if (style.has_indent) newline(depth + 1);
        dump(out, items[i], style, depth + 1);
      }
      if (style.has_indent) newline(depth);
      out += ']';
      return;
    }
    case Value::Kind::dict: {
      std::vector<const std::pair<std::string, Value>*> items;
      for (const auto& item : value.as_dict().items) items.push_back(&item);
      if (items.empty()) {
        out += "{}";
        return;
      }
      if (style.sort_keys) {
        std::stable_sort(items.begin(), items.end(), [](auto* a, auto* b) { return a->first < b->first; });
      }
      out += '{';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += style.item_separator;
        if (style.has_indent) newline(depth + 1);
        append_escaped(out, items[i]->first, style.ensure_ascii);
        out += style.key_separator;
        dump(out, items[i]->second, style, depth + 1);
      }
      if (style.has_indent) newline(depth);
      out += '}';
      return;
    }
    default: throw TemplateRuntimeError({}, "Object of type " + value.type_name() + " is not JSON serializable");
  }
}

}  // namespace

std::string to_json_text(const Value& value, bool ensure_ascii, int indent, const std::string& indent_text,
                         const std::string& item_separator, const std::string& key_separator, bool sort_keys) {
  JsonStyle style;
  style.ensure_ascii = ensure_ascii;
  style.has_indent = indent >= 0 || !indent_text.empty();
  style.indent = !indent_text.empty() ? indent_text : std::string(std::max(indent, 0), ' ');
  style.item_separator = item_separator;
  style.key_separator = key_separator;
  style.sort_keys = sort_keys;
  std::string out;
  dump(out, value, style, 0);
  return out;
}

}  // namespace trl::tokenizer::jinja
