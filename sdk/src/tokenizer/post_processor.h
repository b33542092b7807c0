// tokenizer.json "post_processor": the special tokens encode(add_special_tokens=true) puts around a text
// (Llama-3's <|begin_of_text|>; Qwen and GPT-2 add nothing).
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace trl::tokenizer {

/// The ids added before and after a single sequence. Immutable.
struct PostProcessor {
  std::vector<int64_t> prefix;  ///< ids before the text (e.g. BOS)
  std::vector<int64_t> suffix;  ///< ids after the text (e.g. EOS)

  /// From tokenizer.json's "post_processor": null, ByteLevel (adds nothing), TemplateProcessing (its
  /// "single" template), RobertaProcessing / BertProcessing (cls ... sep), or a Sequence of them.
  /// Throws std::invalid_argument naming what is wrong.
  static PostProcessor from_json(const nlohmann::json& spec);
};

}  // namespace trl::tokenizer
