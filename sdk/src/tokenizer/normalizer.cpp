// Unicode normalization via ICU's Normalizer2 on UTF-8 (see normalizer.h).
#include "tokenizer/normalizer.h"

#include <climits>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/stringpiece.h>

namespace trl::tokenizer {
namespace {

Normalizer::Form parse_form(const nlohmann::json& spec) {
  const std::string type = spec.is_object() && spec.contains("type") && spec["type"].is_string()
                               ? spec["type"].get<std::string>()
                               : std::string();
  if (type == "NFC") return Normalizer::Form::nfc;
  if (type == "NFD") return Normalizer::Form::nfd;
  if (type == "NFKC") return Normalizer::Form::nfkc;
  if (type == "NFKD") return Normalizer::Form::nfkd;
  throw std::invalid_argument("unsupported normalizer type " + (type.empty() ? spec.dump() : "\"" + type + "\"") +
                              " (supported: null, NFC, NFD, NFKC, NFKD and a Sequence of them)");
}

const icu::Normalizer2& instance(Normalizer::Form form) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n = nullptr;
  switch (form) {
    case Normalizer::Form::nfc: n = icu::Normalizer2::getNFCInstance(status); break;
    case Normalizer::Form::nfd: n = icu::Normalizer2::getNFDInstance(status); break;
    case Normalizer::Form::nfkc: n = icu::Normalizer2::getNFKCInstance(status); break;
    case Normalizer::Form::nfkd: n = icu::Normalizer2::getNFKDInstance(status); break;
  }
  if (U_FAILURE(status) || n == nullptr) {
    throw std::runtime_error(std::string("ICU normalizer data unavailable: ") + u_errorName(status));
  }
  return *n;
}

}  // namespace

Normalizer Normalizer::from_json(const nlohmann::json& spec) {
  Normalizer n;
  if (spec.is_null()) return n;
  if (spec.is_object() && spec.value("type", "") == "Sequence") {
    if (!spec.contains("normalizers") || !spec["normalizers"].is_array()) {
      throw std::invalid_argument("Sequence normalizer without a \"normalizers\" array");
    }
    for (const auto& inner : spec["normalizers"]) n.forms_.push_back(parse_form(inner));
  } else {
    n.forms_.push_back(parse_form(spec));
  }
  // Fail now rather than at the first encode when ICU's data is missing.
  for (const Form form : n.forms_) instance(form);
  return n;
}

std::string Normalizer::apply(std::string_view text) const {
  bool ascii = true;
  for (const char c : text) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
  if (forms_.empty() || ascii) return std::string(text);
  if (text.size() > static_cast<size_t>(INT32_MAX)) throw std::length_error("text too long for ICU (> 2 GiB)");
  std::string current(text);
  for (const Form form : forms_) {
    const icu::Normalizer2& n = instance(form);
    UErrorCode status = U_ZERO_ERROR;
    const icu::StringPiece piece(current.data(), static_cast<int32_t>(current.size()));
    if (n.isNormalizedUTF8(piece, status) && U_SUCCESS(status)) continue;
    status = U_ZERO_ERROR;
    std::string next;
    icu::StringByteSink<std::string> sink(&next);
    n.normalizeUTF8(0, piece, sink, nullptr, status);
    if (U_FAILURE(status)) throw std::runtime_error(std::string("ICU normalization failed: ") + u_errorName(status));
    current.swap(next);
  }
  return current;
}

}  // namespace trl::tokenizer
