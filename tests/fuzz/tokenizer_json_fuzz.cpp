// libFuzzer target over the tokenizer.json loader (sdk/src/tokenizer/tokenizer_json.cpp and the
// normalizer, pre-tokenizer, post-processor and added-token parsers it calls); built and run by
// scripts/fuzz.sh. The input is a whole tokenizer.json. Every input must either load or throw
// trl::ModelError naming the file; a tokenizer that loads must then encode and decode a fixed text with
// only trl::Error exceptions. Anything else (another exception, a sanitizer report, a crash, a hang, an
// allocation past -rss_limit_mb) is a finding.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "tokenizer/bpe_tokenizer.h"
#include "trl/sdk/error.h"
#include "trl/sdk/log.h"

namespace {

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "tokenizer_json_fuzz: %s\n", what.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  trl::log::set_level(trl::log::Level::off);  // the loader's debug/warn lines would flood the fuzzer
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  trl::tokenizer::TokenizerFiles files;
  files.tokenizer_json_text.assign(reinterpret_cast<const char*>(data), size);
  files.tokenizer_json_path = "fuzz/tokenizer.json";
  files.config = nlohmann::json::object();
  files.config_path = "fuzz/tokenizer_config.json";
  std::unique_ptr<trl::tokenizer::BpeTokenizer> tok;
  try {
    tok = std::make_unique<trl::tokenizer::BpeTokenizer>(files);
  } catch (const trl::ModelError& e) {
    if (std::string(e.what()).find("fuzz/tokenizer") == std::string::npos) fail(std::string("unnamed file: ") + e.what());
    return 0;
  }
  try {
    const std::vector<int64_t> ids = tok->encode("Hello world, 12 caf\xC3\xA9s!\n<|endoftext|> \xE4\xBD\xA0\xE5\xA5\xBD", true);
    for (const int64_t id : ids)
      if (id < 0 || id >= tok->vocab_size()) fail("encode produced id " + std::to_string(id) + " outside the vocabulary");
    (void)tok->decode(ids, false);
    (void)tok->decode(ids, true);
  } catch (const trl::Error&) {
    // A tokenizer may legitimately refuse a text (e.g. a symbol its vocabulary lacks): a clean error.
  }
  return 0;
}
