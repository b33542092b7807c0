// Helpers shared by the plugin unit tests: where the fixture plugins are, and private temporary folders
// to copy them into (mode 0700, so the host's file-permission rule holds whatever the umask).
#pragma once

#include <stdlib.h>
#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace plugin_test {

/// build/tests/fixtures/plugins/<name>/fixture_<name>.so
inline std::string fixture(const std::string& name) {
  return std::string(TRL_FIXTURE_PLUGIN_DIR) + "/" + name + "/fixture_" + name + ".so";
}

/// The whole file as bytes.
inline std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// The whole file as text ("" if it does not exist).
inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// A fresh folder under $TMPDIR (or /tmp), mode 0700, removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir() {
    const char* base = getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/trl-plugin-test-XXXXXX";
    path_ = mkdtemp(pattern.data()) != nullptr ? pattern : std::string();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  /// Absolute path of the folder ("" if it could not be made).
  const std::string& path() const { return path_; }
  /// A sub-folder, created with `mode`.
  std::string folder(const std::string& name, mode_t mode = 0700) const {
    const std::string p = path_ + "/" + name;
    std::filesystem::create_directories(p);
    ::chmod(p.c_str(), mode);
    return p;
  }
  /// Copies `from` to `folder/name` with `mode`; returns the new path.
  std::string copy(const std::string& from, const std::string& folder, const std::string& name,
                   mode_t mode = 0755) const {
    const std::string to = folder + "/" + name;
    std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
    ::chmod(to.c_str(), mode);
    return to;
  }
  /// Writes `bytes` to `folder/name` with `mode`; returns the path.
  std::string write(const std::string& folder, const std::string& name, const std::vector<uint8_t>& bytes,
                    mode_t mode = 0755) const {
    const std::string to = folder + "/" + name;
    std::ofstream(to, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                               static_cast<std::streamsize>(bytes.size()));
    ::chmod(to.c_str(), mode);
    return to;
  }

 private:
  std::string path_;
};

}  // namespace plugin_test
