// Reading tokenizer.json and tokenizer_config.json into a BpeTokenizer (see bpe_tokenizer.h). Every
// refusal names the file and the key, so a user knows which part of which file we cannot run.
#include <algorithm>
#include <climits>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "tokenizer/bpe_model.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/byte_level_alphabet.h"
#include "tokenizer/utf8.h"
#include "trl/sdk/error.h"
#include "trl/sdk/log.h"

namespace trl::tokenizer {
namespace {

/// Ids below the largest one that no token may leave unused (1 M: about 65 MB of empty table entries).
constexpr int64_t kMaxUnusedIds = int64_t{1} << 20;

// Runs `f`, turning std::invalid_argument into a ModelError "file: key: what".
template <class F>
void with_key(const std::string& file, const std::string& key, F&& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    throw ModelError(file, key + ": " + e.what());
  } catch (const nlohmann::json::exception& e) {
    throw ModelError(file, key + ": " + e.what());
  }
}

bool optional_flag(const nlohmann::json& obj, const char* key, bool fallback) {
  if (!obj.contains(key) || obj[key].is_null()) return fallback;
  if (!obj[key].is_boolean()) {
    throw std::invalid_argument(std::string(key) + ": expected true or false, got " + obj[key].dump());
  }
  return obj[key].get<bool>();
}

// A special token entry of tokenizer_config.json: a string, {"content": ...} (AddedToken form), or null.
std::optional<std::string> token_text(const nlohmann::json& value) {
  if (value.is_null()) return std::nullopt;
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.contains("content") && value["content"].is_string()) {
    return value["content"].get<std::string>();
  }
  throw std::invalid_argument("expected a string, {\"content\": ...} or null, got " + value.dump());
}

}  // namespace

void BpeTokenizer::parse_tokenizer_json(const nlohmann::json& doc) {
  const std::string& file = files_.tokenizer_json_path;
  if (!doc.is_object()) throw ModelError(file, "expected a JSON object at the top level");
  if (!doc.contains("model") || !doc["model"].is_object()) throw ModelError(file, "model: missing or not an object");
  const nlohmann::json& model = doc["model"];

  // model: BPE only, without the options that change its output in ways we do not implement.
  with_key(file, "model.type", [&] {
    const std::string type = model.value("type", model.contains("merges") ? "BPE" : "");
    if (type != "BPE") {
      throw std::invalid_argument("unsupported model type \"" + type + "\" (only byte-level BPE is supported)");
    }
  });
  with_key(file, "model", [&] {
    if (optional_flag(model, "byte_fallback", false)) throw std::invalid_argument("byte_fallback true is not supported");
    if (model.contains("dropout") && !model["dropout"].is_null()) {
      throw std::invalid_argument("dropout " + model["dropout"].dump() + " is not supported (encoding must be deterministic)");
    }
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
      if (model.contains(key) && !model[key].is_null() && model[key] != "") {
        throw std::invalid_argument(std::string(key) + " " + model[key].dump() + " is not supported");
      }
    }
  });
  if (!model.contains("vocab") || !model["vocab"].is_object()) throw ModelError(file, "model.vocab: missing or not an object");

  int64_t max_id = -1;
  with_key(file, "model.vocab", [&] {
    token_to_id_.reserve(model["vocab"].size() + 512);
    for (const auto& [token, value] : model["vocab"].items()) {
      if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > INT32_MAX) {
        throw std::invalid_argument("\"" + token + "\": expected an id in [0, 2^31), got " + value.dump());
      }
      token_to_id_.emplace(token, value.get<int64_t>());
      max_id = std::max(max_id, value.get<int64_t>());
    }
  });

  // added_tokens: their ids may extend past the model's vocabulary.
  std::vector<AddedToken> added;
  if (doc.contains("added_tokens") && !doc["added_tokens"].is_null()) {
    if (!doc["added_tokens"].is_array()) throw ModelError(file, "added_tokens: expected an array");
    for (size_t i = 0; i < doc["added_tokens"].size(); ++i) {
      with_key(file, "added_tokens[" + std::to_string(i) + "]", [&] {
        const nlohmann::json& entry = doc["added_tokens"][i];
        AddedToken token;
        if (!entry.contains("id") || !entry["id"].is_number_integer() || entry["id"].get<int64_t>() < 0 ||
            entry["id"].get<int64_t>() > INT32_MAX) {
          throw std::invalid_argument("id: expected an integer in [0, 2^31)");
        }
        if (!entry.contains("content") || !entry["content"].is_string() || entry["content"].get<std::string>().empty()) {
          throw std::invalid_argument("content: expected a non-empty string");
        }
        token.id = entry["id"].get<int64_t>();
        token.content = entry["content"].get<std::string>();
        if (first_invalid_utf8(token.content)) throw std::invalid_argument("content is not valid UTF-8");
        token.special = optional_flag(entry, "special", false);
        token.normalized = optional_flag(entry, "normalized", !token.special);
        token.lstrip = optional_flag(entry, "lstrip", false);
        token.rstrip = optional_flag(entry, "rstrip", false);
        token.single_word = optional_flag(entry, "single_word", false);
        const auto existing = token_to_id_.find(token.content);
        if (existing != token_to_id_.end() && existing->second != token.id) {
          throw std::invalid_argument("\"" + token.content + "\" has id " + std::to_string(token.id) +
                                      " but model.vocab gives it id " + std::to_string(existing->second));
        }
        token_to_id_[token.content] = token.id;
        max_id = std::max(max_id, token.id);
        added.push_back(std::move(token));
      });
    }
  }

  // The tables below are indexed by id, so a few ids far above the rest (an id of 1444444405 among 244 tokens,
  // found by the tokenizer_json fuzzer) would allocate gigabytes for nothing. Real vocabularies are dense
  // (added tokens may leave a small gap above model.vocab): more than kMaxUnusedIds holes is refused.
  const auto used = static_cast<int64_t>(token_to_id_.size());
  if (max_id + 1 - used > kMaxUnusedIds) {
    throw ModelError(file, "model.vocab / added_tokens: the largest id is " + std::to_string(max_id) + " but only " +
                               std::to_string(used) + " tokens are defined; more than " +
                               std::to_string(kMaxUnusedIds) + " unused ids below it (is an id mistyped?)");
  }

  // Tables by id. Decode emits what Hugging Face's ByteLevel decoder does: the bytes a token's characters
  // stand for, or the token's own UTF-8 when some character is outside the byte-level alphabet.
  const auto size = static_cast<size_t>(max_id + 1);
  id_to_token_.assign(size, std::string());
  id_bytes_.assign(size, std::string());
  id_kind_.assign(size, IdKind::unused);
  with_key(file, "model.vocab", [&] {
    for (const auto& [token, value] : model["vocab"].items()) {
      const auto id = static_cast<size_t>(value.get<int64_t>());
      if (id_kind_[id] != IdKind::unused) {
        throw std::invalid_argument("id " + std::to_string(id) + " is used by both \"" + id_to_token_[id] + "\" and \"" +
                                    token + "\"");
      }
      if (first_invalid_utf8(token)) throw std::invalid_argument("token with id " + std::to_string(id) + " is not valid UTF-8");
      id_to_token_[id] = token;
      id_kind_[id] = IdKind::model;
      id_bytes_[id] = token_to_bytes(token).value_or(token);
    }
  });
  for (size_t i = 0; i < added.size(); ++i) {
    const AddedToken& token = added[i];
    const auto id = static_cast<size_t>(token.id);
    if (id_kind_[id] != IdKind::unused && id_to_token_[id] != token.content) {
      throw ModelError(file, "added_tokens[" + std::to_string(i) + "]: id " + std::to_string(id) + " is already \"" +
                                 id_to_token_[id] + "\"");
    }
    id_to_token_[id] = token.content;
    id_kind_[id] = token.special ? IdKind::special : IdKind::added;
    id_bytes_[id] = token_to_bytes(token.content).value_or(token.content);
  }

  with_key(file, "normalizer", [&] { normalizer_ = Normalizer::from_json(doc.value("normalizer", nlohmann::json())); });

  // The two added-token sets: raw ones are found in the input, normalized ones after normalization.
  std::vector<std::string> raw_patterns, normalized_patterns;
  for (const AddedToken& token : added) {
    raw_patterns.push_back(token.normalized ? std::string() : token.content);
    normalized_patterns.push_back(token.normalized ? normalizer_.apply(token.content) : std::string());
  }
  raw_tokens_ = std::make_unique<AddedTokenMatcher>(added, raw_patterns);
  normalized_tokens_ = std::make_unique<AddedTokenMatcher>(added, normalized_patterns);

  with_key(file, "pre_tokenizer", [&] { pre_tokenizer_ = PreTokenizer::from_json(doc.value("pre_tokenizer", nlohmann::json())); });

  with_key(file, "decoder", [&] {
    const nlohmann::json decoder = doc.value("decoder", nlohmann::json());
    if (!decoder.is_object() || decoder.value("type", "") != "ByteLevel") {
      throw std::invalid_argument("expected a ByteLevel decoder, got " + decoder.dump());
    }
  });

  with_key(file, "post_processor", [&] {
    post_processor_ = PostProcessor::from_json(doc.value("post_processor", nlohmann::json()));
    for (const int64_t id : post_processor_.prefix) {
      if (id < 0 || id > max_id) throw std::invalid_argument("adds id " + std::to_string(id) + ", which is not in the vocabulary");
    }
    for (const int64_t id : post_processor_.suffix) {
      if (id < 0 || id > max_id) throw std::invalid_argument("adds id " + std::to_string(id) + ", which is not in the vocabulary");
    }
  });

  // merges: "a b" strings (older files) or [a, b] pairs (newer files), rank = position.
  std::vector<std::pair<std::string, std::string>> merges;
  if (model.contains("merges") && !model["merges"].is_null()) {
    if (!model["merges"].is_array()) throw ModelError(file, "model.merges: expected an array");
    merges.reserve(model["merges"].size());
    for (size_t i = 0; i < model["merges"].size(); ++i) {
      const nlohmann::json& m = model["merges"][i];
      if (m.is_string()) {
        const std::string s = m.get<std::string>();
        const size_t space = s.find(' ');
        if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos) {
          throw ModelError(file, "model.merges[" + std::to_string(i) + "]: expected \"left right\" with one space, got " + m.dump());
        }
        merges.emplace_back(s.substr(0, space), s.substr(space + 1));
      } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
        merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
      } else {
        throw ModelError(file, "model.merges[" + std::to_string(i) + "]: expected \"left right\" or [left, right], got " + m.dump());
      }
    }
  }
  // The model sees the added tokens too: they only matter if a merge produced one, which Hugging Face
  // would refuse while we accept it (the result is the same token either way).
  with_key(file, "model", [&] {
    model_ = std::make_unique<BpeModel>(token_to_id_, merges, optional_flag(model, "ignore_merges", false));
  });
}

void BpeTokenizer::parse_config() {
  const std::string& file = files_.config_path;
  const nlohmann::json& config = files_.config;
  if (!config.is_object()) throw ModelError(file, "expected a JSON object at the top level");
  const auto special = [&](const char* key) {
    std::optional<std::string> text;
    with_key(file, key, [&] {
      if (config.contains(key)) text = token_text(config[key]);
      if (text && !token_to_id_.count(*text)) {
        throw std::invalid_argument("\"" + *text + "\" is not a token of " + files_.tokenizer_json_path);
      }
    });
    return text;
  };
  bos_token_ = special("bos_token");
  eos_token_ = special("eos_token");
  pad_token_ = special("pad_token");
  with_key(file, "clean_up_tokenization_spaces", [&] {
    // transformers' default has been false since v4.45.
    clean_up_tokenization_spaces_ = optional_flag(config, "clean_up_tokenization_spaces", false);
  });

  with_key(file, "chat_template", [&] {
    if (!config.contains("chat_template") || config["chat_template"].is_null()) {
      chat_template_ = files_.chat_template_jinja;
    } else if (config["chat_template"].is_string()) {
      chat_template_ = config["chat_template"].get<std::string>();
    } else if (config["chat_template"].is_array()) {
      // Named templates [{"name": ..., "template": ...}]: transformers uses "default".
      for (const auto& entry : config["chat_template"]) {
        if (entry.value("name", "") == "default" && entry.contains("template") && entry["template"].is_string()) {
          chat_template_ = entry["template"].get<std::string>();
        }
      }
      if (chat_template_.empty()) throw std::invalid_argument("a list of named templates without one named \"default\"");
    } else {
      throw std::invalid_argument("expected a string or a list of named templates, got " + config["chat_template"].dump());
    }
  });

  // LlamaTokenizerFast rebuilds its post-processor from add_bos_token / add_eos_token (transformers'
  // update_post_processor); every other class keeps tokenizer.json's post_processor and ignores them.
  const std::string tokenizer_class = config.value("tokenizer_class", "");
  if (tokenizer_class == "LlamaTokenizer" || tokenizer_class == "LlamaTokenizerFast") {
    with_key(file, "add_bos_token", [&] {
      PostProcessor llama;
      if (optional_flag(config, "add_bos_token", true)) {
        if (!bos_token_) throw std::invalid_argument("true but bos_token is not set");
        llama.prefix.push_back(token_to_id_.at(*bos_token_));
      }
      if (optional_flag(config, "add_eos_token", false)) {
        if (!eos_token_) throw std::invalid_argument("add_eos_token is true but eos_token is not set");
        llama.suffix.push_back(token_to_id_.at(*eos_token_));
      }
      post_processor_ = llama;
    });
  }
}

BpeTokenizer::BpeTokenizer(TokenizerFiles files) : files_(std::move(files)) {
  source_ = files_.tokenizer_json_path;
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(files_.tokenizer_json_text);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for a number like 1e999
    throw ModelError(files_.tokenizer_json_path, std::string("not valid JSON: ") + e.what());
  }
  parse_tokenizer_json(doc);
  parse_config();
}

namespace {

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ModelError(path, "read error");
  return text.str();
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer_dir(const std::string& dir) {
  TokenizerFiles files;
  files.tokenizer_json_path = dir + "/tokenizer.json";
  files.config_path = dir + "/tokenizer_config.json";
  auto json_text = read_file(files.tokenizer_json_path);
  if (!json_text) throw ModelError(files.tokenizer_json_path, "cannot open (a tokenizer.json is required)");
  files.tokenizer_json_text = std::move(*json_text);
  files.config = nlohmann::json::object();
  if (auto config_text = read_file(files.config_path)) {
    try {
      files.config = nlohmann::json::parse(*config_text);
    } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for a number like 1e999
      throw ModelError(files.config_path, std::string("not valid JSON: ") + e.what());
    }
  } else {
    log::debug(files.config_path + ": absent; the tokenizer has no BOS/EOS/pad tokens or chat template");
  }
  files.chat_template_jinja = read_file(dir + "/chat_template.jinja").value_or("");
  return std::make_unique<BpeTokenizer>(std::move(files));
}

}  // namespace trl::tokenizer
