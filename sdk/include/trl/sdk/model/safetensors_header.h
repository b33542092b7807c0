// trl/sdk/model/safetensors_header.h: the validated header of a safetensors file, without LibTorch.
//
// Layout (huggingface/safetensors): an 8-byte little-endian header length N, N bytes of UTF-8 JSON
// {name: {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {str: str}}
// (padded with trailing spaces), then the data buffer. Offsets are relative to the buffer start, and the
// tensors must cover the buffer exactly: sorted by offset, no gap, no overlap, no trailing bytes.
// parse_safetensors_header() applies every rule of the reference implementation's validate() before a
// single tensor byte is read; it is kept free of LibTorch so the fuzzer (tests/fuzz/) builds it alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace trl {

/// The largest header length N accepted, in bytes (the reference implementation's MAX_HEADER_SIZE).
inline constexpr uint64_t kSafetensorsMaxHeaderBytes = 100'000'000;

/// One tensor's entry in a safetensors header.
struct SafetensorsEntry {
  std::string name;             ///< tensor name
  std::string dtype;            ///< "F32", "F16", "BF16", "I64", ... as written in the file
  std::vector<int64_t> shape;   ///< dimensions; empty for a 0-dim tensor
  uint64_t begin = 0;           ///< byte offset of the data, relative to the start of the data buffer
  uint64_t end = 0;             ///< one past the last byte; end - begin = element count x dtype size
};

/// A parsed and validated header.
struct SafetensorsHeader {
  std::vector<SafetensorsEntry> entries;          ///< sorted by data offset (file order); names unique
  std::map<std::string, std::string> metadata;    ///< the "__metadata__" strings; empty when absent
  uint64_t header_bytes = 0;                      ///< N, the JSON length including its padding
  /// Where the data buffer starts in the file: 8 + N bytes.
  uint64_t data_start() const { return 8 + header_bytes; }
};

/// Validates the header of a safetensors file of `file_size` bytes, given its first `size` bytes at `data`
/// (at least 8 + N of them; the whole file is fine). Reads nothing past data + 8 + N. Throws ModelError
/// naming `label` (the file) and the tensor on any defect: file too short, N over the limit or past the end,
/// invalid UTF-8/JSON, duplicate keys, wrong field types, unknown dtype, negative dimension, a shape whose
/// byte count overflows or differs from its offsets, offsets out of the buffer, overlapping, leaving a gap
/// or leaving trailing bytes, "__metadata__" not an object of strings. Also the fuzzing entry point.
SafetensorsHeader parse_safetensors_header(const uint8_t* data, size_t size, uint64_t file_size,
                                           const std::string& label);

/// Size of one element of a safetensors dtype in bits (8 for BOOL, 4 for F4, 16 for BF16, ...), or 0 when
/// `dtype` is not a dtype of the format.
int safetensors_dtype_bits(const std::string& dtype);

}  // namespace trl
