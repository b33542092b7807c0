// Post-processors (see post_processor.h).
#include "tokenizer/post_processor.h"

#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace trl::tokenizer {
namespace {

void append_template(const nlohmann::json& spec, PostProcessor& out) {
  if (!spec.contains("single") || !spec["single"].is_array()) {
    throw std::invalid_argument("TemplateProcessing without a \"single\" template");
  }
  const nlohmann::json special = spec.contains("special_tokens") ? spec["special_tokens"] : nlohmann::json::object();
  bool seen_sequence = false;
  std::vector<int64_t> before, after;
  for (const auto& piece : spec["single"]) {
    if (piece.contains("Sequence")) {
      const std::string id = piece["Sequence"].value("id", "");
      if (id != "A") throw std::invalid_argument("TemplateProcessing single template uses sequence \"" + id + "\"; expected A");
      if (seen_sequence) throw std::invalid_argument("TemplateProcessing single template repeats sequence A");
      seen_sequence = true;
    } else if (piece.contains("SpecialToken")) {
      const std::string name = piece["SpecialToken"].value("id", "");
      if (!special.contains(name) || !special[name].contains("ids") || !special[name]["ids"].is_array()) {
        throw std::invalid_argument("TemplateProcessing special token \"" + name + "\" has no entry in special_tokens");
      }
      for (const auto& id : special[name]["ids"]) (seen_sequence ? after : before).push_back(id.get<int64_t>());
    } else {
      throw std::invalid_argument("TemplateProcessing piece " + piece.dump() + " is neither Sequence nor SpecialToken");
    }
  }
  if (!seen_sequence) throw std::invalid_argument("TemplateProcessing single template has no sequence A");
  // In a Sequence of processors the later one wraps what the earlier one produced.
  out.prefix.insert(out.prefix.begin(), before.begin(), before.end());
  out.suffix.insert(out.suffix.end(), after.begin(), after.end());
}

void append_cls_sep(const nlohmann::json& spec, PostProcessor& out) {
  // "cls": ["<s>", 0], "sep": ["</s>", 2]: single sequence = cls A sep.
  for (const char* key : {"cls", "sep"}) {
    if (!spec.contains(key) || !spec[key].is_array() || spec[key].size() != 2 || !spec[key][1].is_number_integer()) {
      throw std::invalid_argument(spec.value("type", "") + " needs \"" + key + "\": [token, id]");
    }
  }
  out.prefix.insert(out.prefix.begin(), spec["cls"][1].get<int64_t>());
  out.suffix.push_back(spec["sep"][1].get<int64_t>());
}

void append(const nlohmann::json& spec, PostProcessor& out) {
  if (spec.is_null()) return;
  const std::string type = spec.is_object() ? spec.value("type", "") : "";
  if (type == "ByteLevel") return;  // only trims offsets; the ids are unchanged
  if (type == "TemplateProcessing") return append_template(spec, out);
  if (type == "RobertaProcessing" || type == "BertProcessing") return append_cls_sep(spec, out);
  if (type == "Sequence") {
    if (!spec.contains("processors") || !spec["processors"].is_array()) {
      throw std::invalid_argument("Sequence post_processor without a \"processors\" array");
    }
    for (const auto& inner : spec["processors"]) append(inner, out);
    return;
  }
  throw std::invalid_argument("post_processor type \"" + type +
                              "\" is not supported (supported: ByteLevel, TemplateProcessing, RobertaProcessing, "
                              "BertProcessing, Sequence)");
}

}  // namespace

PostProcessor PostProcessor::from_json(const nlohmann::json& spec) {
  PostProcessor out;
  append(spec, out);
  return out;
}

}  // namespace trl::tokenizer
