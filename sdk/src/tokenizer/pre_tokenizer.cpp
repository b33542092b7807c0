// The pre-tokenizer chain (see pre_tokenizer.h).
#include "tokenizer/pre_tokenizer.h"

#include <stdexcept>

#include <nlohmann/json.hpp>

#include "tokenizer/split_regex.h"

namespace trl::tokenizer {
namespace {

// GPT-2's pattern, which Hugging Face's ByteLevel pre-tokenizer applies when use_regex is true.
constexpr const char* kGpt2Pattern = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

bool flag(const nlohmann::json& spec, const char* key, bool fallback) {
  if (!spec.contains(key) || spec[key].is_null()) return fallback;
  if (!spec[key].is_boolean()) throw std::invalid_argument(std::string(key) + ": expected true or false, got " + spec[key].dump());
  return spec[key].get<bool>();
}

}  // namespace

struct PreTokenizer::Step {
  enum class Kind { split, byte_level } kind = Kind::split;
  std::shared_ptr<const SplitRegex> regex;  // Split's pattern, or GPT-2's for ByteLevel(use_regex)
  bool remove_matches = false;              // Split behavior Removed (else Isolated)
  bool add_prefix_space = false;            // ByteLevel

  // Cuts each piece in `pieces` further.
  void apply(std::vector<std::string>& pieces) const {
    std::vector<std::string> out;
    out.reserve(pieces.size());
    for (std::string& piece : pieces) {
      // Hugging Face prepends the space to every piece that reaches the ByteLevel step.
      if (kind == Kind::byte_level && add_prefix_space && (piece.empty() || piece[0] != ' ')) piece.insert(0, 1, ' ');
      if (!regex) {
        if (!piece.empty()) out.push_back(std::move(piece));
        continue;
      }
      size_t done = 0;
      for (const auto& [begin, end] : regex->find_all(piece)) {
        // Isolated keeps the text between matches and each match as pieces; Removed drops the matches.
        if (begin > done) out.emplace_back(piece, done, begin - done);
        if (!remove_matches) out.emplace_back(piece, begin, end - begin);
        done = end;
      }
      if (done < piece.size()) out.emplace_back(piece, done, std::string::npos);
    }
    pieces.swap(out);
  }
};

PreTokenizer::PreTokenizer() = default;
PreTokenizer::~PreTokenizer() = default;
PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;

PreTokenizer PreTokenizer::from_json(const nlohmann::json& spec) {
  PreTokenizer result;
  std::vector<const nlohmann::json*> items;
  if (spec.is_object() && spec.value("type", "") == "Sequence") {
    if (!spec.contains("pretokenizers") || !spec["pretokenizers"].is_array()) {
      throw std::invalid_argument("Sequence pre_tokenizer without a \"pretokenizers\" array");
    }
    for (const auto& item : spec["pretokenizers"]) items.push_back(&item);
  } else if (!spec.is_null()) {
    items.push_back(&spec);
  }
  bool byte_level = false;
  for (const nlohmann::json* item : items) {
    const std::string type = item->is_object() ? item->value("type", "") : "";
    // Our steps work on raw bytes; a step after ByteLevel would see the byte-level characters instead.
    if (byte_level) throw std::invalid_argument("a pre-tokenizer after ByteLevel (\"" + type + "\") is not supported");
    Step step;
    if (type == "Split") {
      const nlohmann::json& pattern = item->contains("pattern") ? (*item)["pattern"] : nlohmann::json();
      const std::string behavior = item->value("behavior", "");
      if (behavior != "Isolated" && behavior != "Removed") {
        throw std::invalid_argument("Split behavior \"" + behavior + "\" is not supported (supported: Isolated, Removed)");
      }
      if (flag(*item, "invert", false)) throw std::invalid_argument("Split with invert true is not supported");
      if (pattern.is_object() && pattern.contains("Regex") && pattern["Regex"].is_string()) {
        const std::string onig = pattern["Regex"].get<std::string>();
        std::string translated;
        try {
          translated = oniguruma_to_pcre2(onig);
        } catch (const std::invalid_argument& e) {
          throw std::invalid_argument("Split pattern " + nlohmann::json(onig).dump() + ": " + e.what());
        }
        step.regex = std::make_shared<SplitRegex>(translated, /*literal=*/false);
      } else if (pattern.is_object() && pattern.contains("String") && pattern["String"].is_string()) {
        step.regex = std::make_shared<SplitRegex>(pattern["String"].get<std::string>(), /*literal=*/true);
      } else {
        throw std::invalid_argument("Split pattern must be {\"Regex\": ...} or {\"String\": ...}, got " + pattern.dump());
      }
      step.kind = Step::Kind::split;
      step.remove_matches = behavior == "Removed";
    } else if (type == "ByteLevel") {
      step.kind = Step::Kind::byte_level;
      step.add_prefix_space = flag(*item, "add_prefix_space", true);
      if (flag(*item, "use_regex", true)) step.regex = std::make_shared<SplitRegex>(oniguruma_to_pcre2(kGpt2Pattern), false);
      byte_level = true;
    } else {
      throw std::invalid_argument("pre_tokenizer type \"" + type +
                                  "\" is not supported (supported: ByteLevel, Split, and a Sequence of them)");
    }
    result.steps_.push_back(std::move(step));
  }
  if (!byte_level) {
    throw std::invalid_argument("no ByteLevel pre-tokenizer: only byte-level BPE tokenizers are supported");
  }
  return result;
}

void PreTokenizer::split(std::string_view text, std::vector<std::string>& words) const {
  std::vector<std::string> pieces{std::string(text)};
  for (const Step& step : steps_) step.apply(pieces);
  for (std::string& piece : pieces) words.push_back(std::move(piece));
}

}  // namespace trl::tokenizer
