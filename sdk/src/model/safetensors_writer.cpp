// The safetensors writer (trl/sdk/model/safetensors.h): header as the reference writer lays it out
// (safetensors/src/tensor.rs: prepare), then the tensor bytes in the caller's order, written to a temporary
// file in the destination folder, fsync'ed and renamed over the destination, so a reader (or a crash)
// sees either the old file or the complete new one, never a torn one.
#include "trl/sdk/model/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <optional>
#include <system_error>
#include <unordered_set>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "trl/sdk/error.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors I/O assumes a little-endian host");

namespace trl {
namespace {

std::string errno_text(int err) { return std::generic_category().message(err); }

/// The format's name for a LibTorch dtype; nullopt for types the format cannot hold.
std::optional<std::string> dtype_name(c10::ScalarType type) {
  switch (type) {
    case at::kBool: return "BOOL";
    case at::kByte: return "U8";
    case at::kChar: return "I8";
    case at::kShort: return "I16";
    case at::kInt: return "I32";
    case at::kLong: return "I64";
    case at::kHalf: return "F16";
    case at::kBFloat16: return "BF16";
    case at::kFloat: return "F32";
    case at::kDouble: return "F64";
    case at::kComplexFloat: return "C64";
    default: return std::nullopt;
  }
}

/// Writes all `bytes`, retrying short writes and EINTR; returns 0 or the errno of the failure.
int write_all(int fd, const void* data, size_t bytes) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (bytes > 0) {
    const ssize_t n = ::write(fd, p, bytes);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    p += n;
    bytes -= static_cast<size_t>(n);
  }
  return 0;
}

/// A temporary file next to the destination: created exclusively, removed unless commit() renamed it.
class TempFile {
 public:
  explicit TempFile(const std::string& target) : target_(target) {
    static std::atomic<uint64_t> counter{0};
    for (int attempt = 0; attempt < 100; ++attempt) {
      path_ = target + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
      // 0666 before the umask, as for any new file: the result must not be more private than a plain write.
      fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd_ >= 0) return;
      if (errno != EEXIST) break;
    }
    throw ModelError(target, "cannot create the temporary file " + path_ + ": " + errno_text(errno));
  }
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  void write(const void* data, size_t bytes) {
    if (const int err = write_all(fd_, data, bytes); err != 0)
      throw ModelError(target_, "cannot write " + path_ + ": " + errno_text(err));
  }

  /// fsync, close, rename over the target, then fsync the folder so the rename itself is durable.
  void commit() {
    if (::fsync(fd_) != 0) throw ModelError(target_, "cannot fsync " + path_ + ": " + errno_text(errno));
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) throw ModelError(target_, "cannot close " + path_ + ": " + errno_text(errno));
    if (::rename(path_.c_str(), target_.c_str()) != 0)
      throw ModelError(target_, "cannot rename " + path_ + " into place: " + errno_text(errno));
    committed_ = true;
    // Best effort: the new file is already in place, so a folder that cannot be synced (some file
    // systems refuse fsync on directories) must not report a completed write as failed.
    std::string dir = std::filesystem::path(target_).parent_path().string();
    if (dir.empty()) dir = ".";
    const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0) {
      ::fsync(dir_fd);
      ::close(dir_fd);
    }
  }

 private:
  std::string target_;
  std::string path_;
  int fd_ = -1;
  bool committed_ = false;
};

/// The header: "__metadata__" first when present, then the tensors with consecutive offsets in the given
/// order; compact JSON padded with spaces to a multiple of 8 bytes, as the reference writer does, so the
/// data buffer (and every 8-byte-aligned tensor in it) starts aligned in a mapped file.
std::string build_header(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                         const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::unordered_set<std::string> seen;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    const std::string where = "tensor '" + name + "'";
    if (name == "__metadata__") throw ModelError(path, "a tensor cannot be named \"__metadata__\" (reserved key)");
    if (!seen.insert(name).second) throw ModelError(path, where + " is given twice");
    if (!tensor.defined()) throw ModelError(path, where + " is undefined");
    const auto dtype = dtype_name(tensor.scalar_type());
    if (!dtype)
      throw ModelError(path, where + ": dtype " + std::string(c10::toString(tensor.scalar_type())) +
                                 " cannot be written (supported: F64, F32, F16, BF16, C64, I64, I32, I16, I8, U8, BOOL)");
    const uint64_t bytes = static_cast<uint64_t>(tensor.numel()) * tensor.element_size();
    header[name] = {{"dtype", *dtype}, {"shape", tensor.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text;
  try {
    text = header.dump();  // strict: a name or value that is not UTF-8 throws instead of being mangled
  } catch (const nlohmann::json::exception& e) {
    throw ModelError(path, std::string("a tensor name or metadata string is not valid UTF-8: ") + e.what());
  }
  text.resize((text.size() + 7) / 8 * 8, ' ');
  if (text.size() > kSafetensorsMaxHeaderBytes)
    throw ModelError(path, "header of " + std::to_string(text.size()) + " bytes exceeds the " +
                               std::to_string(kSafetensorsMaxHeaderBytes) + "-byte limit of the format");
  return text;
}

}  // namespace

void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  const std::string header = build_header(path, tensors, metadata);
  TempFile out(path);
  uint8_t length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<uint8_t>(static_cast<uint64_t>(header.size()) >> (8 * i));
  out.write(length, sizeof length);
  out.write(header.data(), header.size());
  // One tensor at a time, so a model on the GPU never needs a second full copy in host memory.
  for (const auto& [name, tensor] : tensors) {
    // resolve_conj/resolve_neg: a lazily conjugated or negated view must be written as the values it shows.
    const at::Tensor cpu = tensor.detach().to(at::kCPU).resolve_conj().resolve_neg().contiguous();
    if (cpu.nbytes() != 0) out.write(cpu.data_ptr(), cpu.nbytes());
  }
  out.commit();
}

}  // namespace trl
