// trl/sdk/model/safetensors.h: reading and writing the safetensors format (huggingface/safetensors).
//
// Layout: 8-byte little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets}},
// optional "__metadata__" (string to string), then the raw little-endian tensor bytes. Files are
// memory-mapped; every offset, shape and dtype is checked before any byte is read.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace trl {

/// One tensor's entry in a safetensors header.
struct SafetensorsEntry {
  std::string name;             ///< tensor name
  std::string dtype;            ///< "F32", "F16", "BF16", "I64", ...
  std::vector<int64_t> shape;   ///< dimensions
  uint64_t begin = 0;           ///< byte offset of the data, relative to the end of the header
  uint64_t end = 0;             ///< one past the last byte
};

/// An open safetensors file: a validated header over a read-only memory map.
class SafetensorsFile {
 public:
  /// Maps `path` and validates the header; throws ModelError naming the file (and tensor) on any defect:
  /// short file, header length past the end, bad JSON, unknown dtype, size/shape mismatch, offsets out
  /// of bounds or overlapping.
  explicit SafetensorsFile(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  /// The file's path.
  const std::string& path() const;
  /// Entries in file order.
  const std::vector<SafetensorsEntry>& entries() const;
  /// Whether `name` is present.
  bool contains(const std::string& name) const;
  /// The __metadata__ strings.
  const std::map<std::string, std::string>& metadata() const;
  /// A CPU tensor copied out of the map, converted to `dtype`; throws ModelError if `name` is missing.
  at::Tensor load(const std::string& name, c10::ScalarType dtype) const;
  /// A CPU tensor in the stored dtype, copied out of the map.
  at::Tensor load(const std::string& name) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Validates a header given as raw bytes (the 8-byte length + JSON) against a file of `file_size` bytes.
/// The fuzzing entry point; throws ModelError naming `label` on any defect.
std::vector<SafetensorsEntry> parse_safetensors_header(const uint8_t* data, size_t size, uint64_t file_size,
                                                       const std::string& label);

/// Writes tensors (any device; written as stored, contiguous) to `path` atomically (temp + rename),
/// names in the given order. Supported dtypes: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL.
void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

/// Reads every tensor of a file (CPU, stored dtype), e.g. optimizer state in a checkpoint.
std::vector<std::pair<std::string, at::Tensor>> load_safetensors(const std::string& path);

}  // namespace trl
