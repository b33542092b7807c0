// The memory-mapped safetensors reader (trl/sdk/model/safetensors.h): map read-only, validate the header
// (safetensors_header.cpp) before touching a tensor byte, copy tensors out of the map on request.
#include "trl/sdk/model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <unordered_map>

#include <ATen/ATen.h>

#include "shape_text.h"
#include "trl/sdk/error.h"

// The format stores little-endian bytes and load() copies them as they are.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors I/O assumes a little-endian host");

namespace trl {
namespace {

std::string errno_text(int err) { return std::generic_category().message(err); }

/// Refuses a shape whose contiguous strides pass INT64_MAX. The format allows it when a dimension is 0
/// ([0, 2^62, 4]), but LibTorch 2.x refuses it ("Stride calculation overflowed", as torch.empty does) and
/// 1.13 would wrap the stride silently: both builds refuse it, with the same message.
void check_strides_fit(const SafetensorsEntry& e, const std::string& path) {
  int64_t stride = 1;
  for (size_t i = e.shape.size(); i-- > 1;) {
    if (__builtin_mul_overflow(stride, std::max<int64_t>(e.shape[i], 1), &stride))
      throw ModelError(path, "tensor '" + e.name + "': shape " + shape_text(e.shape) +
                                 " needs a stride past 2^63 - 1, which LibTorch cannot represent");
  }
}

/// An open file descriptor, closed on scope exit.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

/// Unmaps a read-only mapping of `bytes` bytes.
struct Unmap {
  size_t bytes = 0;
  void operator()(const uint8_t* p) const { ::munmap(const_cast<uint8_t*>(p), bytes); }
};
using Mapping = std::unique_ptr<const uint8_t, Unmap>;

}  // namespace

c10::ScalarType safetensors_scalar_type(const std::string& dtype, const std::string& file, const std::string& tensor) {
  static const std::unordered_map<std::string, c10::ScalarType> kTypes = {
      {"BOOL", at::kBool},   {"U8", at::kByte},          {"I8", at::kChar},   {"I16", at::kShort},
      {"I32", at::kInt},     {"I64", at::kLong},         {"F16", at::kHalf},  {"BF16", at::kBFloat16},
      {"F32", at::kFloat},   {"F64", at::kDouble},       {"C64", at::kComplexFloat},
  };
  const auto it = kTypes.find(dtype);
  if (it != kTypes.end()) return it->second;
  if (safetensors_dtype_bits(dtype) != 0)
    throw ModelError(file, "tensor '" + tensor + "': dtype " + dtype + " has no LibTorch " +
                               "1.13 type (supported: BOOL, U8, I8, I16, I32, I64, F16, BF16, F32, F64, C64)");
  throw ModelError(file, "tensor '" + tensor + "': unknown dtype \"" + dtype + "\"");
}

struct SafetensorsFile::Impl {
  std::string path;
  Mapping map;                                   // the whole file, read-only
  uint64_t file_bytes = 0;
  SafetensorsHeader header;
  std::unordered_map<std::string, size_t> index;  // name -> position in header.entries

  /// The entry's bytes inside the map; in bounds because parse_safetensors_header checked the offsets.
  const uint8_t* data(const SafetensorsEntry& e) const { return map.get() + header.data_start() + e.begin; }
};

SafetensorsFile::SafetensorsFile(const std::string& path) : impl_(std::make_unique<Impl>()) {
  impl_->path = path;
  const ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw ModelError(path, "cannot open: " + errno_text(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw ModelError(path, "cannot stat: " + errno_text(errno));
  if (!S_ISREG(st.st_mode)) throw ModelError(path, "not a regular file");
  impl_->file_bytes = static_cast<uint64_t>(st.st_size);
  // mmap refuses length 0; a file this short is refused by the parser before it reads anything.
  if (impl_->file_bytes < 8) parse_safetensors_header(nullptr, 0, impl_->file_bytes, path);

  void* p = ::mmap(nullptr, impl_->file_bytes, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (p == MAP_FAILED) throw ModelError(path, "cannot memory-map " + std::to_string(impl_->file_bytes) +
                                                  " bytes: " + errno_text(errno));
  impl_->map = Mapping(static_cast<const uint8_t*>(p), Unmap{impl_->file_bytes});
  impl_->header = parse_safetensors_header(impl_->map.get(), impl_->file_bytes, impl_->file_bytes, path);
  for (size_t i = 0; i < impl_->header.entries.size(); ++i) impl_->index.emplace(impl_->header.entries[i].name, i);
}

SafetensorsFile::~SafetensorsFile() = default;

const std::string& SafetensorsFile::path() const { return impl_->path; }

const std::vector<SafetensorsEntry>& SafetensorsFile::entries() const { return impl_->header.entries; }

bool SafetensorsFile::contains(const std::string& name) const { return impl_->index.count(name) != 0; }

const SafetensorsEntry& SafetensorsFile::entry(const std::string& name) const {
  const auto it = impl_->index.find(name);
  if (it == impl_->index.end())
    throw ModelError(impl_->path, "tensor '" + name + "' not found (the file has " +
                                      std::to_string(impl_->header.entries.size()) + " tensors)");
  return impl_->header.entries[it->second];
}

const std::map<std::string, std::string>& SafetensorsFile::metadata() const { return impl_->header.metadata; }

at::Tensor SafetensorsFile::load(const std::string& name) const {
  const SafetensorsEntry& e = entry(name);
  const c10::ScalarType type = safetensors_scalar_type(e.dtype, impl_->path, name);
  check_strides_fit(e, impl_->path);
  at::Tensor out;
  try {
    out = at::empty(e.shape, at::TensorOptions().dtype(type));
  } catch (const c10::Error& err) {
    throw ModelError(impl_->path, "tensor '" + name + "': LibTorch refuses its shape: " + err.what_without_backtrace());
  }
  const uint64_t bytes = e.end - e.begin;
  TRL_INTERNAL_ASSERT(out.nbytes() == bytes, "tensor '" + name + "': LibTorch size differs from the header's");
  if (bytes != 0) std::memcpy(out.data_ptr(), impl_->data(e), bytes);
  return out;
}

at::Tensor SafetensorsFile::load(const std::string& name, c10::ScalarType dtype) const {
  const SafetensorsEntry& e = entry(name);
  const c10::ScalarType stored = safetensors_scalar_type(e.dtype, impl_->path, name);
  if (stored == dtype) return load(name);
  check_strides_fit(e, impl_->path);
  // Integer, boolean and complex tensors (ids, masks, counters) only load as themselves: converting them
  // to a compute dtype is a caller's mistake, never a precision choice.
  if (!c10::isFloatingType(stored) || !c10::isFloatingType(dtype))
    throw ModelError(impl_->path, "tensor '" + name + "' is " + e.dtype + " and loads only as itself, not as " +
                                      c10::toString(dtype));
  const uint8_t* src = impl_->data(e);
  // Convert straight from the map when the bytes are aligned for their type (always so for files of the
  // reference writer, whose header is padded to 8 bytes); otherwise copy out first, as a misaligned
  // float read is undefined behaviour.
  if (reinterpret_cast<uintptr_t>(src) % c10::elementSize(stored) != 0) return load(name).to(dtype);
  try {
    const at::Tensor view = at::from_blob(const_cast<uint8_t*>(src), e.shape, at::TensorOptions().dtype(stored));
    return view.to(dtype);  // a new tensor: dtype differs, so `to` copies and never aliases the map
  } catch (const c10::Error& err) {
    throw ModelError(impl_->path, "tensor '" + name + "': LibTorch refuses its shape: " + err.what_without_backtrace());
  }
}

std::vector<std::pair<std::string, at::Tensor>> load_safetensors(const std::string& path) {
  const SafetensorsFile file(path);
  std::vector<std::pair<std::string, at::Tensor>> out;
  out.reserve(file.entries().size());
  for (const SafetensorsEntry& e : file.entries()) out.emplace_back(e.name, file.load(e.name));
  return out;
}

}  // namespace trl
