// libFuzzer target over parse_safetensors_header (trl/sdk/model/safetensors_header.h); built and run by
// scripts/fuzz.sh. The input is a whole file. Every input must either parse or throw trl::ModelError; any
// other exception, a sanitizer report or a broken invariant of a parsed header is a finding.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "trl/sdk/error.h"
#include "trl/sdk/model/safetensors_header.h"

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "safetensors_header_fuzz: parsed header breaks an invariant: %s\n", what);
  std::abort();
}

/// What a caller relies on after a successful parse: entries sorted, tiling the data buffer exactly,
/// each holding element count x dtype size bytes, so no read through them can leave the file.
void check_invariants(const trl::SafetensorsHeader& h, uint64_t file_size) {
  if (h.header_bytes > trl::kSafetensorsMaxHeaderBytes || h.data_start() > file_size) fail("header length");
  uint64_t covered = 0;
  for (const trl::SafetensorsEntry& e : h.entries) {
    if (e.begin != covered || e.end < e.begin) fail("entries do not tile the buffer");
    const int bits = trl::safetensors_dtype_bits(e.dtype);
    if (bits == 0) fail("unknown dtype accepted");
    unsigned __int128 total_bits = static_cast<unsigned>(bits);
    for (const int64_t d : e.shape) {
      if (d < 0) fail("negative dimension");
      // Saturate rather than wrap: an accepted shape never overflows, so saturation only keeps a
      // wrong acceptance from hiding behind a wrapped product.
      if (__builtin_mul_overflow(total_bits, static_cast<uint64_t>(d), &total_bits)) total_bits = ~static_cast<unsigned __int128>(0);
    }
    if (total_bits != static_cast<unsigned __int128>(e.end - e.begin) * 8) fail("size does not match shape");
    covered = e.end;
  }
  if (h.data_start() + covered != file_size) fail("buffer not covered");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const trl::SafetensorsHeader h = trl::parse_safetensors_header(data, size, size, "fuzz.safetensors");
    check_invariants(h, size);
  } catch (const trl::ModelError&) {
    // The expected outcome for a malformed file.
  }
  return 0;
}
