// libFuzzer target over the run-config reader of `trl-host train` (host/src/run_config.cpp: JSON or YAML
// text, line:column of parse errors, --set overrides with dotted paths, top-level key checks, the peft
// block); built and run by scripts/fuzz.sh. Input layout: byte 0 picks the file name's extension (even:
// .json, odd: .yaml); the rest up to the first NUL byte is the file; after it, each '\n'-separated piece
// is one --set entry. Every input must either give a RunConfig or throw trl::ConfigError; anything else
// (another exception, a crash, a sanitizer report) is a finding.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "run_config.h"
#include "trl/sdk/error.h"

namespace {

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "run_config_fuzz: %s\n", what.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t nul = rest.find('\0');
  const std::string text = rest.substr(0, nul);
  std::vector<std::string> overrides;
  if (nul != std::string::npos) {
    const std::string sets = rest.substr(nul + 1);
    size_t begin = 0;
    while (begin <= sets.size()) {
      const size_t end = sets.find('\n', begin);
      overrides.push_back(sets.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
      if (end == std::string::npos) break;
      begin = end + 1;
    }
  }
  const char* base = std::getenv("TMPDIR");
  const std::string path = std::string(base != nullptr ? base : "/tmp") + "/trl-run-config-fuzz-" +
                           std::to_string(::getpid()) + ((data[0] & 1) == 0 ? ".json" : ".yaml");
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
  }
  try {
    const trl::RunConfig run = trl::host::load_run_config(path, overrides);
    if (run.trainer.empty() || run.model.empty() || run.train_dataset.empty()) fail("a required key came back empty");
  } catch (const trl::ConfigError&) {
    // The expected outcome for a bad config.
  }
  std::remove(path.c_str());
  return 0;
}
