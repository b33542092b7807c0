// libFuzzer target over the dataset row reader (sdk/src/data/json_rows.cpp: JSONL lines with BOM/CRLF
// handling and line numbers, JSON arrays and {"train": [...]} documents); built and run by
// scripts/fuzz.sh. The first input byte picks the file's extension (even: .jsonl, odd: .json), the rest is
// the file. Every input must either give rows (each an object, with 1 <= line <= the file's line count,
// in increasing order) or throw trl::DataError naming the file; anything else is a finding.
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "trl/sdk/data/dataset.h"
#include "trl/sdk/error.h"

namespace {

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "json_rows_fuzz: %s\n", what.c_str());
  std::abort();
}

std::string scratch_path(const char* ext) {
  const char* base = std::getenv("TMPDIR");
  return std::string(base != nullptr ? base : "/tmp") + "/trl-json-rows-fuzz-" + std::to_string(::getpid()) + ext;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const char* ext = (data[0] & 1) == 0 ? ".jsonl" : ".json";
  const std::string path = scratch_path(ext);
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
  }
  const int64_t lines = 1 + std::count(text.begin(), text.end(), '\n');
  try {
    const std::vector<trl::JsonRow> rows = trl::read_json_rows(path);
    if (rows.empty()) fail("no rows and no error");
    int64_t previous = 0;
    for (const trl::JsonRow& row : rows) {
      if (!row.value.is_object()) fail("a row that is not an object");
      if (row.line < 1 || row.line > lines) fail("row line " + std::to_string(row.line) + " outside the file");
      if (row.line < previous) fail("row lines not in order");
      previous = row.line;
    }
  } catch (const trl::DataError& e) {
    if (std::string(e.what()).find(path) == std::string::npos) fail(std::string("error without the file: ") + e.what());
  }
  std::remove(path.c_str());
  return 0;
}
