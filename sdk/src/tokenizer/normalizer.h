// tokenizer.json "normalizer": the Unicode normalization forms (NFC is what Qwen2/Qwen3 declare), via ICU.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace trl::tokenizer {

/// A chain of Unicode normalization forms; empty = no normalizer. Immutable, thread-safe.
class Normalizer {
 public:
  /// The form names in application order ("NFC", "NFD", "NFKC", "NFKD").
  enum class Form { nfc, nfd, nfkc, nfkd };

  /// Builds from tokenizer.json's "normalizer" value (null, one form, or a Sequence of forms). Throws
  /// std::invalid_argument naming the unsupported type (Lowercase, Replace, Precompiled, ...).
  static Normalizer from_json(const nlohmann::json& spec);

  /// Whether there is nothing to do.
  bool empty() const { return forms_.empty(); }
  /// `text` (valid UTF-8) normalized by each form in turn; ASCII text is returned unchanged (it is in
  /// every form already).
  std::string apply(std::string_view text) const;

 private:
  std::vector<Form> forms_;
};

}  // namespace trl::tokenizer
