// What the interpreter does to values beyond arithmetic: attribute and item access (jinja2's sandboxed
// getattr/getitem), iteration, len(), the filters, the tests and transformers' tojson.
#pragma once

#include <string>
#include <vector>

#include "tokenizer/jinja/value.h"

namespace trl::tokenizer::jinja {

/// `object.name`: a bound method of str/dict (startswith, items, get, ...), a dict entry, a namespace
/// attribute, or undefined (jinja2 tries getattr first, then the item). Throws TemplateRuntimeError when
/// `object` is undefined.
Value get_attribute(const Value& object, const std::string& name);
/// `object[key]`: a list/str index (negative from the end), a dict entry, then the attribute of that
/// name; undefined when missing. Throws TemplateRuntimeError when `object` is undefined.
Value get_item(const Value& object, const Value& key);
/// The items a for loop (or list()) visits: list items, dict keys, the code points of a str, nothing
/// for undefined. Throws TemplateRuntimeError for other values.
std::vector<Value> iterate(const Value& value);
/// len(value) (0 for undefined). Throws TemplateRuntimeError for values without a length.
int64_t length_of(const Value& value);

/// Applies filter `name` (is_known_filter) to `input`.
Value apply_filter(const std::string& name, const Value& input, const CallArgs& args);
/// Applies test `name` (is_known_test) to `input`.
bool apply_test(const std::string& name, const Value& input, const CallArgs& args);

/// json.dumps(value, ensure_ascii, indent, separators, sort_keys), as transformers' tojson filter calls it.
/// `indent` < 0 means None; `indent_text` (when not empty) overrides it with a string indent.
std::string to_json_text(const Value& value, bool ensure_ascii, int indent, const std::string& indent_text,
                         const std::string& item_separator, const std::string& key_separator, bool sort_keys);

/// The positional or keyword argument `index`/`name` of a call, or nullptr.
const Value* argument(const CallArgs& args, size_t index, const char* name);

}  // namespace trl::tokenizer::jinja
