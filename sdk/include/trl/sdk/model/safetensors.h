// trl/sdk/model/safetensors.h: reading and writing the safetensors format (huggingface/safetensors).
//
// Layout: 8-byte little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets}},
// optional "__metadata__" (string to string), then the raw little-endian tensor bytes. Files are
// memory-mapped read-only; every offset, shape and dtype is checked (safetensors_header.h) before any
// tensor byte is read. Files written here are byte-compatible with the reference writer's output
// (header padded with spaces to a multiple of 8 bytes) and readable by `safetensors.torch.load_file`.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

#include "trl/sdk/model/safetensors_header.h"

namespace trl {

/// An open safetensors file: a validated header over a read-only memory map. Loads copy out of the map,
/// so tensors outlive the file object. Safe to load from several threads at once.
class SafetensorsFile {
 public:
  /// Maps `path` and validates the header; throws ModelError naming the file (and tensor) on any defect:
  /// short file, header length past the end, bad JSON, unknown dtype, size/shape mismatch, offsets out
  /// of bounds, overlapping or leaving gaps (parse_safetensors_header() lists every rule).
  explicit SafetensorsFile(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  /// The file's path.
  const std::string& path() const;
  /// Entries in file order (by data offset).
  const std::vector<SafetensorsEntry>& entries() const;
  /// Whether `name` is present.
  bool contains(const std::string& name) const;
  /// The entry of `name` (dtype, shape, offsets) without reading data; throws ModelError if missing.
  const SafetensorsEntry& entry(const std::string& name) const;
  /// The __metadata__ strings; empty when the file has none.
  const std::map<std::string, std::string>& metadata() const;
  /// A CPU tensor copied out of the map and converted to `dtype`. Floating dtypes (F64, F32, F16, BF16)
  /// convert to any floating `dtype`; other dtypes only load as themselves. Throws ModelError naming the
  /// file and tensor if `name` is missing, the stored dtype has no LibTorch type (U16, U32, U64, F8_*,
  /// F4, F6_*) or the conversion is refused.
  at::Tensor load(const std::string& name, c10::ScalarType dtype) const;
  /// A CPU tensor in the stored dtype, copied out of the map.
  at::Tensor load(const std::string& name) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The LibTorch type of a safetensors dtype name ("BF16" -> kBFloat16); throws ModelError naming `file` and
/// `tensor` when the format has the dtype but LibTorch 1.13 does not (U16, U32, U64, F8_*, F4, F6_*).
c10::ScalarType safetensors_scalar_type(const std::string& dtype, const std::string& file,
                                        const std::string& tensor);

/// Writes tensors to `path` atomically: a temporary file in the same folder, fsync, rename, fsync of the
/// folder. Tensors may be on any device and non-contiguous (copied to CPU, written contiguous, row-major);
/// names are written in the given order and must be unique and not "__metadata__". Supported dtypes:
/// F64, F32, F16, BF16, C64, I64, I32, I16, I8, U8, BOOL. Throws ModelError naming `path` on a refused
/// tensor or an I/O failure; the destination is then untouched.
void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

/// Reads every tensor of a file (CPU, stored dtype), in file order, e.g. optimizer state in a checkpoint.
std::vector<std::pair<std::string, at::Tensor>> load_safetensors(const std::string& path);

}  // namespace trl
