// tokenizer.json "pre_tokenizer": how text is cut into words before BPE. Supported: Split (a regex or a
// literal, behavior Isolated or Removed), ByteLevel (optional GPT-2 regex, add_prefix_space), and a
// Sequence of those, which covers GPT-2, Qwen2/Qwen3 and Llama-3.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace trl::tokenizer {

class SplitRegex;

/// The pre-tokenizer chain. Immutable, thread-safe.
class PreTokenizer {
 public:
  /// Builds from tokenizer.json's "pre_tokenizer". Throws std::invalid_argument naming the unsupported type
  /// or option; a chain without a ByteLevel step is refused (this is a byte-level BPE implementation).
  static PreTokenizer from_json(const nlohmann::json& spec);
  PreTokenizer();
  ~PreTokenizer();
  PreTokenizer(PreTokenizer&&) noexcept;
  PreTokenizer& operator=(PreTokenizer&&) noexcept;

  /// The words of `text` (valid UTF-8, already normalized), as raw bytes, appended to `words` in order.
  void split(std::string_view text, std::vector<std::string>& words) const;

 private:
  struct Step;
  std::vector<Step> steps_;
};

}  // namespace trl::tokenizer
