// Parsing and validation of a safetensors header (trl/sdk/model/safetensors_header.h), without LibTorch.
// The rules are the reference implementation's (huggingface/safetensors, safetensors/src/tensor.rs:
// SafeTensors::read_metadata and Metadata::validate), with messages that name the file and the tensor.
// Where we are stricter than the reference (duplicate keys, nesting depth, "__metadata__": null) the
// reason is given at the check.
#include "trl/sdk/model/safetensors_header.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <set>
#include <string_view>

#include <nlohmann/json.hpp>

#include "shape_text.h"
#include "trl/sdk/error.h"

namespace trl {
namespace {

using json = nlohmann::json;

/// A valid header nests three levels (header, entry, shape); anything much deeper is hostile. Bounding it
/// keeps a 100 MB header of '[' from building a hundred million nested arrays.
constexpr size_t kMaxJsonDepth = 32;
/// Names and values quoted in messages are cut to this many bytes.
constexpr size_t kMaxQuotedBytes = 120;

/// Every dtype of the format with its element size (tensor.rs: Dtype::bitsize).
struct DtypeBits {
  std::string_view name;
  int bits;
};
constexpr DtypeBits kDtypes[] = {
    {"BOOL", 8},         {"U8", 8},           {"I8", 8},        {"I16", 16},      {"U16", 16},
    {"F16", 16},         {"BF16", 16},        {"I32", 32},      {"U32", 32},      {"F32", 32},
    {"C64", 64},         {"F64", 64},         {"I64", 64},      {"U64", 64},      {"F8_E5M2", 8},
    {"F8_E4M3", 8},      {"F8_E8M0", 8},      {"F8_E4M3FNUZ", 8}, {"F8_E5M2FNUZ", 8}, {"F4", 4},
    {"F6_E2M3", 6},      {"F6_E3M2", 6},
};

std::string cut(const std::string& s) {
  return s.size() <= kMaxQuotedBytes ? s : s.substr(0, kMaxQuotedBytes) + "...";
}

std::string tensor_where(const std::string& name) { return "tensor '" + cut(name) + "'"; }

/// "string \"abc\"", "number -3", "array [1,2]": what a JSON value is, for "expected X, found Y".
std::string found(const json& v) {
  // A large array or object is described, not dumped: the header may be 100 MB.
  if (v.is_structured() && v.size() > 16)
    return std::string(v.type_name()) + " of " + std::to_string(v.size()) + " elements";
  std::string text = v.dump(-1, ' ', false, json::error_handler_t::replace);
  return std::string(v.type_name()) + " " + cut(text);
}

std::string offsets_text(uint64_t begin, uint64_t end) {
  return "[" + std::to_string(begin) + ", " + std::to_string(end) + "]";
}

std::string known_dtypes() {
  std::string out;
  for (const DtypeBits& d : kDtypes) out += (out.empty() ? "" : ", ") + std::string(d.name);
  return out;
}

/// Refuses a key seen twice in one JSON object and nesting past kMaxJsonDepth, while nlohmann parses.
/// nlohmann (like most parsers) silently keeps one of two duplicates; two readers keeping different ones
/// would see different tensors in the same file, so a duplicate is an error here (the reference's serde
/// refuses duplicate fields of an entry but lets a later tensor name overwrite an earlier one).
class HeaderKeyGuard {
 public:
  explicit HeaderKeyGuard(const std::string& label) : label_(label) {}

  bool operator()(int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (open_.size() >= kMaxJsonDepth)
          throw ModelError(label_, "header JSON nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
        open_.emplace_back();
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!open_.empty()) open_.pop_back();
        break;
      case json::parse_event_t::key: {
        const std::string& key = parsed.get_ref<const std::string&>();
        if (open_.size() == 1) top_key_ = key;
        if (!open_.empty() && !open_.back().insert(key).second) throw duplicate(key);
        break;
      }
      case json::parse_event_t::value:
        break;
    }
    return true;
  }

 private:
  ModelError duplicate(const std::string& key) const {
    if (open_.size() == 1) {
      if (key == "__metadata__") return ModelError(label_, "\"__metadata__\" appears twice in the header");
      return ModelError(label_, tensor_where(key) + " appears twice in the header");
    }
    const std::string owner = top_key_ == "__metadata__" ? "__metadata__" : tensor_where(top_key_);
    return ModelError(label_, owner + ": key \"" + cut(key) + "\" appears twice");
  }

  const std::string& label_;
  std::vector<std::set<std::string>> open_;   // keys seen in each open object or array, innermost last
  std::string top_key_;                       // the header key whose value is being parsed
};

json parse_json(const uint8_t* begin, uint64_t length, const std::string& label) {
  // nlohmann's lexer takes a NUL byte for the end of input and would ignore whatever follows it (a second
  // header hidden behind "{}\0"); JSON text never holds a raw NUL, so refuse it as the reference does.
  if (const void* nul = std::memchr(begin, 0, length))
    throw ModelError(label, "header is not valid JSON: NUL byte at header offset " +
                                std::to_string(static_cast<const uint8_t*>(nul) - begin));
  // nlohmann skips a UTF-8 byte order mark; the reference (serde_json) refuses it, and so do we, so
  // that a file one of us reads the other reads too.
  if (length >= 3 && begin[0] == 0xEF && begin[1] == 0xBB && begin[2] == 0xBF)
    throw ModelError(label, "header is not valid JSON: it starts with a UTF-8 byte order mark");
  HeaderKeyGuard guard(label);
  const auto* text = reinterpret_cast<const char*>(begin);
  try {
    return json::parse(text, text + length, std::ref(guard));
  } catch (const json::exception& e) {
    // Drop nlohmann's "[json.exception.parse_error.101] " prefix; keep the position and reason.
    std::string what = e.what();
    const size_t bracket = what.find("] ");
    if (what.rfind("[json.exception.", 0) == 0 && bracket != std::string::npos) what = what.substr(bracket + 2);
    throw ModelError(label, "header is not valid JSON: " + what);
  }
}

/// A JSON value that must be a non-negative integer fitting `limit`; `what` names it in messages.
uint64_t unsigned_field(const json& v, uint64_t limit, const std::string& label, const std::string& what) {
  if (v.is_number_integer() && !v.is_number_unsigned())
    throw ModelError(label, what + " is " + v.dump() + ", expected a non-negative integer");
  if (!v.is_number_unsigned()) throw ModelError(label, what + ": expected a non-negative integer, found " + found(v));
  const uint64_t x = v.get<uint64_t>();
  if (x > limit) throw ModelError(label, what + " is " + std::to_string(x) + ", above the limit " + std::to_string(limit));
  return x;
}

const json& required_field(const json& entry, const char* field, const std::string& label, const std::string& where) {
  const auto it = entry.find(field);
  if (it == entry.end()) throw ModelError(label, where + ": missing \"" + field + "\"");
  return *it;
}

/// One tensor entry, checked on its own: field types, dtype, shape, and that its offsets hold exactly
/// its bytes inside a data buffer of `buffer_bytes` (tensor.rs: Metadata::validate's per-tensor part).
SafetensorsEntry parse_entry(const std::string& name, const json& value, uint64_t buffer_bytes,
                             const std::string& label) {
  const std::string where = tensor_where(name);
  if (!value.is_object())
    throw ModelError(label, where + ": expected an object with dtype, shape and data_offsets, found " + found(value));
  SafetensorsEntry e;
  e.name = name;

  const json& dtype = required_field(value, "dtype", label, where);
  if (!dtype.is_string()) throw ModelError(label, where + ": dtype: expected a string, found " + found(dtype));
  e.dtype = dtype.get<std::string>();
  const int bits = safetensors_dtype_bits(e.dtype);
  if (bits == 0)
    throw ModelError(label, where + ": unknown dtype \"" + cut(e.dtype) + "\" (expected one of " + known_dtypes() + ")");

  const json& shape = required_field(value, "shape", label, where);
  if (!shape.is_array())
    throw ModelError(label, where + ": shape: expected an array of non-negative integers, found " + found(shape));
  e.shape.reserve(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) {
    const uint64_t dim = unsigned_field(shape[i], std::numeric_limits<int64_t>::max(), label,
                                        where + ": shape[" + std::to_string(i) + "]");
    e.shape.push_back(static_cast<int64_t>(dim));
  }

  const json& offsets = required_field(value, "data_offsets", label, where);
  if (!offsets.is_array() || offsets.size() != 2)
    throw ModelError(label, where + ": data_offsets: expected [begin, end], found " + found(offsets));
  e.begin = unsigned_field(offsets[0], std::numeric_limits<uint64_t>::max(), label, where + ": data_offsets[0]");
  e.end = unsigned_field(offsets[1], std::numeric_limits<uint64_t>::max(), label, where + ": data_offsets[1]");
  const std::string offsets_where = where + ": data_offsets " + offsets_text(e.begin, e.end);
  if (e.begin > e.end) throw ModelError(label, offsets_where + ": begin is past end");

  // Element count and byte size with checked multiplication, left to right as the reference does, so a
  // shape such as [2^40, 2^40, 0] is refused as an overflow there and here alike.
  uint64_t elements = 1;
  for (const int64_t dim : e.shape) {
    if (__builtin_mul_overflow(elements, static_cast<uint64_t>(dim), &elements))
      throw ModelError(label, where + ": shape " + shape_text(e.shape) + " overflows a 64-bit element count");
  }
  uint64_t total_bits = 0;
  if (__builtin_mul_overflow(elements, static_cast<uint64_t>(bits), &total_bits))
    throw ModelError(label, where + ": shape " + shape_text(e.shape) + " with dtype " + e.dtype +
                                " overflows a 64-bit byte count");
  if (total_bits % 8 != 0)
    throw ModelError(label, where + ": shape " + shape_text(e.shape) + " with dtype " + e.dtype + " is " +
                                std::to_string(total_bits) + " bits, not a whole number of bytes");
  const uint64_t bytes = total_bits / 8;
  if (e.end - e.begin != bytes)
    throw ModelError(label, where + ": shape " + shape_text(e.shape) + " with dtype " + e.dtype + " needs " +
                                std::to_string(bytes) + " bytes but data_offsets " + offsets_text(e.begin, e.end) +
                                " hold " + std::to_string(e.end - e.begin));
  if (e.end > buffer_bytes)
    throw ModelError(label, offsets_where + " exceed the " + std::to_string(buffer_bytes) + "-byte data buffer");
  return e;
}

std::map<std::string, std::string> parse_metadata(const json& value, const std::string& label) {
  // Stricter than the reference, whose serde also takes null: the format says an object of strings, and
  // no writer emits null (Python's save_file omits the key when metadata is None).
  if (!value.is_object())
    throw ModelError(label, "__metadata__: expected an object of strings, found " + found(value));
  std::map<std::string, std::string> metadata;
  for (const auto& [key, v] : value.items()) {
    if (!v.is_string())
      throw ModelError(label, "__metadata__: '" + cut(key) + "': expected a string, found " + found(v));
    metadata.emplace(key, v.get<std::string>());
  }
  return metadata;
}

/// Sorted by offset, the tensors must tile the data buffer from 0 to its end (tensor.rs: validate and
/// MetadataIncompleteBuffer): trailing bytes could hide a second payload (a "polyglot" file).
void check_coverage(const std::vector<SafetensorsEntry>& entries, uint64_t buffer_bytes, const std::string& label) {
  uint64_t covered = 0;
  const SafetensorsEntry* previous = nullptr;
  for (const SafetensorsEntry& e : entries) {
    const std::string where = tensor_where(e.name) + ": data_offsets " + offsets_text(e.begin, e.end);
    if (e.begin < covered)
      throw ModelError(label, where + " overlap " + tensor_where(previous->name) + " at " +
                                  offsets_text(previous->begin, previous->end));
    if (e.begin > covered) {
      const std::string gap = std::to_string(e.begin - covered) + " bytes";
      if (previous == nullptr)
        throw ModelError(label, where + " leave the first " + gap + " of the data buffer uncovered");
      throw ModelError(label, where + " leave a gap of " + gap + " after " + tensor_where(previous->name) + " at " +
                                  offsets_text(previous->begin, previous->end));
    }
    covered = e.end;
    previous = &e;
  }
  if (covered != buffer_bytes)
    throw ModelError(label, "the tensors cover " + std::to_string(covered) + " of the " + std::to_string(buffer_bytes) +
                                " bytes of the data buffer, leaving " + std::to_string(buffer_bytes - covered) +
                                " trailing bytes");
}

}  // namespace

int safetensors_dtype_bits(const std::string& dtype) {
  for (const DtypeBits& d : kDtypes)
    if (d.name == dtype) return d.bits;
  return 0;
}

SafetensorsHeader parse_safetensors_header(const uint8_t* data, size_t size, uint64_t file_size,
                                           const std::string& label) {
  if (file_size < 8)
    throw ModelError(label, "file is " + std::to_string(file_size) +
                                " bytes, too short for the 8-byte header length of a safetensors file");
  if (size < 8)
    throw ModelError(label, "only " + std::to_string(size) + " bytes were read, fewer than the 8-byte header length");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | data[i];  // little-endian on any host
  if (n > kSafetensorsMaxHeaderBytes)
    throw ModelError(label, "header length " + std::to_string(n) + " exceeds the " +
                                std::to_string(kSafetensorsMaxHeaderBytes) + "-byte limit");
  if (n > file_size - 8)
    throw ModelError(label, "header length " + std::to_string(n) + " runs past the end of the " +
                                std::to_string(file_size) + "-byte file");
  if (n > size - 8)
    throw ModelError(label, "header length " + std::to_string(n) + " needs " + std::to_string(8 + n) +
                                " bytes but only " + std::to_string(size) + " were read");

  SafetensorsHeader header;
  header.header_bytes = n;
  const uint64_t buffer_bytes = file_size - 8 - n;
  const json root = parse_json(data + 8, n, label);
  if (!root.is_object()) throw ModelError(label, "header must be a JSON object, found " + found(root));
  header.entries.reserve(root.size());
  for (const auto& [key, value] : root.items()) {
    if (key == "__metadata__") {
      header.metadata = parse_metadata(value, label);
      continue;
    }
    header.entries.push_back(parse_entry(key, value, buffer_bytes, label));
  }
  // File order; ties (empty tensors at one offset) keep the header's name order, so it is deterministic.
  std::stable_sort(header.entries.begin(), header.entries.end(), [](const auto& a, const auto& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  check_coverage(header.entries, buffer_bytes, label);
  return header;
}

}  // namespace trl
