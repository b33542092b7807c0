// Encoding, decoding and saving of the byte-level BPE tokenizer (see bpe_tokenizer.h).
#include "tokenizer/bpe_tokenizer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "tokenizer/bpe_model.h"
#include "tokenizer/utf8.h"
#include "trl/sdk/error.h"

namespace trl::tokenizer {

BpeTokenizer::~BpeTokenizer() = default;

std::vector<int64_t> BpeTokenizer::encode(const std::string& text, bool add_special_tokens) const {
  if (const auto bad = first_invalid_utf8(text)) {
    char byte[8];
    std::snprintf(byte, sizeof(byte), "0x%02x", static_cast<unsigned char>(text[*bad]));
    throw DataError("encode", 0, "the text is not valid UTF-8 (byte " + std::string(byte) + " at offset " +
                                     std::to_string(*bad) + ")");
  }
  std::vector<int64_t> ids;
  ids.reserve(text.size() / 3 + 4);
  if (add_special_tokens) ids.insert(ids.end(), post_processor_.prefix.begin(), post_processor_.prefix.end());
  encode_plain(text, ids);
  if (add_special_tokens) ids.insert(ids.end(), post_processor_.suffix.begin(), post_processor_.suffix.end());
  return ids;
}

void BpeTokenizer::encode_plain(const std::string& text, std::vector<int64_t>& ids) const {
  // The order of Hugging Face's TokenizerImpl::encode_single_sequence: raw added tokens, normalizer,
  // normalized added tokens, pre-tokenizer, model.
  std::vector<std::string> words;
  for (const Segment& raw : raw_tokens_->split(text)) {
    if (raw.id >= 0) {
      ids.push_back(raw.id);
      continue;
    }
    const std::string normalized = normalizer_.apply(std::string_view(text).substr(raw.begin, raw.end - raw.begin));
    for (const Segment& part : normalized_tokens_->split(normalized)) {
      if (part.id >= 0) {
        ids.push_back(part.id);
        continue;
      }
      words.clear();
      pre_tokenizer_.split(std::string_view(normalized).substr(part.begin, part.end - part.begin), words);
      for (const std::string& word : words) model_->encode_word(word, ids);
    }
  }
}

std::string BpeTokenizer::decode(const std::vector<int64_t>& ids, bool skip_special_tokens) const {
  std::string bytes;
  for (size_t i = 0; i < ids.size(); ++i) {
    const int64_t id = ids[i];
    if (id < 0) {
      throw DataError("decode", 0, "id " + std::to_string(id) + " at position " + std::to_string(i) +
                                       " is negative (a label mask such as -100 is not a token)");
    }
    // Ids the vocabulary does not have (e.g. the padding rows of a model's larger embedding) are skipped,
    // as Hugging Face's decode skips them.
    if (static_cast<size_t>(id) >= id_kind_.size() || id_kind_[static_cast<size_t>(id)] == IdKind::unused) continue;
    if (skip_special_tokens && id_kind_[static_cast<size_t>(id)] == IdKind::special) continue;
    bytes += id_bytes_[static_cast<size_t>(id)];
  }
  std::string text = utf8_lossy(bytes);
  return clean_up_tokenization_spaces_ ? clean_up_tokenization(std::move(text)) : text;
}

int64_t BpeTokenizer::vocab_size() const { return static_cast<int64_t>(id_to_token_.size()); }

std::optional<int64_t> BpeTokenizer::token_to_id(const std::string& token) const {
  const auto it = token_to_id_.find(token);
  if (it == token_to_id_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> BpeTokenizer::id_to_token(int64_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= id_kind_.size() || id_kind_[static_cast<size_t>(id)] == IdKind::unused) {
    return std::nullopt;
  }
  return id_to_token_[static_cast<size_t>(id)];
}

bool BpeTokenizer::is_special(int64_t id) const {
  return id >= 0 && static_cast<size_t>(id) < id_kind_.size() && id_kind_[static_cast<size_t>(id)] == IdKind::special;
}

namespace {

void write_file(const std::filesystem::path& path, const std::string& text) {
  // Write beside, then rename: a reader never sees half a tokenizer.json.
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw ModelError(tmp.string(), std::string("cannot open for writing: ") + std::strerror(errno));
    out << text;
    out.flush();
    if (!out) throw ModelError(tmp.string(), std::string("write failed: ") + std::strerror(errno));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw ModelError(path.string(), "cannot rename the written file into place: " + ec.message());
}

}  // namespace

void BpeTokenizer::save(const std::string& dir) const {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw ModelError(dir, "cannot create the directory: " + ec.message());
  write_file(std::filesystem::path(dir) / "tokenizer.json", files_.tokenizer_json_text);
  nlohmann::json config = files_.config;
  // A template that came from chat_template.jinja travels inside tokenizer_config.json, which every
  // transformers version reads.
  if (!chat_template_.empty() && (!config.contains("chat_template") || config["chat_template"].is_null())) {
    config["chat_template"] = chat_template_;
  }
  write_file(std::filesystem::path(dir) / "tokenizer_config.json", config.dump(2) + "\n");
}

std::string clean_up_tokenization(std::string text) {
  // transformers' PreTrainedTokenizerBase.clean_up_tokenization: these replacements, in this order.
  static const std::pair<const char*, const char*> kReplacements[] = {
      {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
      {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : kReplacements) {
    const size_t from_len = std::strlen(from);
    std::string out;
    out.reserve(text.size());
    size_t pos = 0;
    for (size_t hit; (hit = text.find(from, pos)) != std::string::npos; pos = hit + from_len) {
      out.append(text, pos, hit - pos);
      out += to;
    }
    out.append(text, pos, std::string::npos);
    text.swap(out);
  }
  return text;
}

}  // namespace trl::tokenizer
