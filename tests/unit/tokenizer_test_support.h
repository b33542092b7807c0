// Helpers shared by the tokenizer unit tests: a scratch directory per test and a tiny byte-level BPE
// tokenizer.json written from scratch, so expected ids can be worked out by hand.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace tokenizer_test {

/// A fresh directory for the running test, under the build tree.
inline std::string scratch_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::filesystem::path dir = std::filesystem::path(TRL_BINARY_DIR) / "tokenizer-unit-test" /
                                    (std::string(info->test_suite_name()) + "." + info->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// GPT-2's bytes_to_unicode, written out again here (independently of the SDK's table): printable
/// Latin-1 bytes stand for themselves, the other 68 map to U+0100.. in byte order. Returns UTF-8.
inline std::string byte_symbol(unsigned char b) {
  const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
  unsigned cp = b;
  if (!printable) {
    unsigned n = 0;
    for (unsigned x = 0; x < b; ++x) {
      const bool p = (x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE);
      if (!p) ++n;
    }
    cp = 256 + n;
  }
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

/// `text` in byte symbols ("a b" -> "aĠb").
inline std::string symbols(const std::string& text) {
  std::string out;
  for (const char c : text) out += byte_symbol(static_cast<unsigned char>(c));
  return out;
}

/// A tokenizer.json: vocab = the 256 byte symbols (id = byte value) then each merge result in order
/// (ids 256, 257, ...); merges given as raw-text pairs; ByteLevel pre-tokenizer with GPT-2's regex unless
/// `pre_tokenizer` is given; ByteLevel decoder; no added tokens.
inline nlohmann::json tiny_tokenizer(const std::vector<std::pair<std::string, std::string>>& merges,
                                     bool pair_form = false, nlohmann::json pre_tokenizer = nullptr) {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_symbol(static_cast<unsigned char>(b))] = b;
  nlohmann::json merge_list = nlohmann::json::array();
  int next = 256;
  for (const auto& [left, right] : merges) {
    if (!vocab.contains(symbols(left + right))) vocab[symbols(left + right)] = next++;
    if (pair_form) {
      merge_list.push_back({symbols(left), symbols(right)});
    } else {
      merge_list.push_back(symbols(left) + " " + symbols(right));
    }
  }
  if (pre_tokenizer.is_null()) {
    pre_tokenizer = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
  }
  return {{"version", "1.0"},
          {"added_tokens", nlohmann::json::array()},
          {"normalizer", nullptr},
          {"pre_tokenizer", pre_tokenizer},
          {"post_processor", nullptr},
          {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
          {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"byte_fallback", false},
                     {"ignore_merges", false}, {"vocab", vocab}, {"merges", merge_list}}}};
}

/// Writes tokenizer.json (and tokenizer_config.json unless `config` is null) into a fresh scratch dir.
inline std::string write_tokenizer(const nlohmann::json& tokenizer_json, const nlohmann::json& config = nlohmann::json::object()) {
  const std::string dir = scratch_dir();
  write_text(dir + "/tokenizer.json", tokenizer_json.dump());
  if (!config.is_null()) write_text(dir + "/tokenizer_config.json", config.dump());
  return dir;
}

/// Qwen2's pre-tokenizer: the Split regex of Qwen2/Qwen3 tokenizer.json, then ByteLevel without regex.
inline nlohmann::json qwen_pre_tokenizer(const std::string& digits = "\\p{N}") {
  const std::string pattern = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|" + digits +
                              "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  return {{"type", "Sequence"},
          {"pretokenizers",
           {{{"type", "Split"}, {"pattern", {{"Regex", pattern}}}, {"behavior", "Isolated"}, {"invert", false}},
            {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}}}}};
}

}  // namespace tokenizer_test
