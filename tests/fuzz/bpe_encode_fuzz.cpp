// libFuzzer target over the byte-level BPE encoder and decoder (sdk/src/tokenizer: added-token matching,
// the Qwen2 Split regex through PCRE2, ByteLevel, BPE merges with the word cache); built and run by
// scripts/fuzz.sh. The tokenizer is tests/fuzz/bpe_tokenizer.json (a BPE with 300 merges learned from the
// bundled preference data, the Qwen2 pre-tokenizer and three special tokens; written by
// make_fuzz_seeds.py); the input is the text. Properties, for every input:
//  - valid UTF-8: encode succeeds, every id is in the vocabulary, and decode(encode(text)) == text
//    (byte-level BPE loses nothing; special tokens decode to their own text);
//  - not valid UTF-8: encode throws trl::DataError.
// Anything else (another exception, a round trip that differs, a sanitizer report) is a finding.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "trl/sdk/error.h"
#include "trl/sdk/log.h"
#include "trl/sdk/tokenizer/tokenizer.h"

#ifndef TRL_FUZZ_BPE_TOKENIZER_DIR
#error "TRL_FUZZ_BPE_TOKENIZER_DIR must name the folder holding tokenizer.json (scripts/fuzz.sh sets it)"
#endif

namespace {

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "bpe_encode_fuzz: %s\n", what.c_str());
  std::abort();
}

// RFC 3629 well-formed UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF), written here again
// independently of the SDK's validator so the two can disagree.
bool valid_utf8(const std::string& s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    unsigned lo = 0x80, hi = 0xBF;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 1;
    } else if (c == 0xE0) {
      len = 2, lo = 0xA0;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
      len = 2;
    } else if (c == 0xED) {
      len = 2, hi = 0x9F;
    } else if (c == 0xF0) {
      len = 3, lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
      len = 3;
    } else if (c == 0xF4) {
      len = 3, hi = 0x8F;
    } else {
      return false;
    }
    if (i + len >= n) return false;  // the sequence is cut by the end of the text
    for (size_t k = 1; k <= len; ++k) {
      const unsigned char t = static_cast<unsigned char>(s[i + k]);
      const unsigned first_lo = k == 1 ? lo : 0x80, first_hi = k == 1 ? hi : 0xBF;
      if (t < first_lo || t > first_hi) return false;
    }
    i += len + 1;
  }
  return true;
}

std::unique_ptr<trl::Tokenizer> g_tokenizer;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  trl::log::set_level(trl::log::Level::off);
  g_tokenizer = trl::Tokenizer::load(TRL_FUZZ_BPE_TOKENIZER_DIR);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const bool valid = valid_utf8(text);
  std::vector<int64_t> ids;
  try {
    ids = g_tokenizer->encode(text, /*add_special_tokens=*/false);
  } catch (const trl::DataError& e) {
    if (valid) fail(std::string("valid UTF-8 refused: ") + e.what());
    return 0;
  }
  if (!valid) fail("invalid UTF-8 accepted by encode");
  for (const int64_t id : ids)
    if (id < 0 || id >= g_tokenizer->vocab_size()) fail("id " + std::to_string(id) + " outside the vocabulary");
  const std::string back = g_tokenizer->decode(ids, /*skip_special_tokens=*/false);
  if (back != text) fail("decode(encode(text)) differs from the text (" + std::to_string(text.size()) + " bytes in, " +
                         std::to_string(back.size()) + " out)");
  return 0;
}
