// Atomic checkpoint folders (see checkpoint.h).
#include "train/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "trl/sdk/error.h"

namespace trl {
namespace fs = std::filesystem;

std::string checkpoint_name(int64_t step) { return "checkpoint-" + std::to_string(step); }

namespace {

void fsync_path(const fs::path& path, bool directory) {
  int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) return;  // best effort: the rename below is what makes the folder appear whole
  ::fsync(fd);
  ::close(fd);
}

void fsync_tree(const fs::path& dir) {
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) fsync_path(entry.path(), false);
  }
  fsync_path(dir, true);
}

}  // namespace

std::string write_checkpoint(const std::string& output_dir, int64_t step,
                             const std::function<void(const std::string& dir)>& fill) {
  const fs::path final_dir = fs::path(output_dir) / checkpoint_name(step);
  const fs::path tmp_dir = fs::path(output_dir) / (".tmp-" + checkpoint_name(step) + "-" + std::to_string(::getpid()));
  std::error_code ec;
  fs::remove_all(tmp_dir, ec);
  try {
    fs::create_directories(tmp_dir);
    fill(tmp_dir.string());
    fsync_tree(tmp_dir);
    if (fs::exists(final_dir)) {
      // Same step saved again (e.g. a resumed run interrupted at once): move the old one aside first.
      const fs::path old_dir = fs::path(output_dir) / (".old-" + checkpoint_name(step));
      fs::remove_all(old_dir, ec);
      fs::rename(final_dir, old_dir);
      fs::rename(tmp_dir, final_dir);
      fs::remove_all(old_dir, ec);
    } else {
      fs::rename(tmp_dir, final_dir);
    }
    fsync_path(output_dir, true);
  } catch (const CheckpointError&) {
    fs::remove_all(tmp_dir, ec);
    throw;
  } catch (const std::exception& e) {
    fs::remove_all(tmp_dir, ec);
    throw CheckpointError(final_dir.string(), std::string("could not write the checkpoint: ") + e.what());
  }
  return final_dir.string();
}

std::vector<std::pair<int64_t, std::string>> list_checkpoints(const std::string& output_dir) {
  static const std::regex kName("checkpoint-([0-9]+)");
  std::vector<std::pair<int64_t, std::string>> out;
  std::error_code ec;
  if (!fs::is_directory(output_dir, ec)) return out;
  for (const auto& entry : fs::directory_iterator(output_dir)) {
    std::smatch m;
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && std::regex_match(name, m, kName))
      out.emplace_back(std::stoll(m[1].str()), entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void prune_checkpoints(const std::string& output_dir, int64_t limit) {
  auto all = list_checkpoints(output_dir);
  std::error_code ec;
  for (size_t i = 0; i + static_cast<size_t>(limit) < all.size(); ++i) fs::remove_all(all[i].second, ec);
}

std::string resolve_checkpoint(const std::string& output_dir, const std::string& spec) {
  if (spec == "last") {
    auto all = list_checkpoints(output_dir);
    if (all.empty())
      throw ConfigError("args", "resume_from_checkpoint", "\"last\" given but " + output_dir + " holds no checkpoint-N folder");
    return all.back().second;
  }
  if (!fs::is_regular_file(fs::path(spec) / "trainer_state.json"))
    throw ConfigError("args", "resume_from_checkpoint",
                      "expected a checkpoint folder holding trainer_state.json, got \"" + spec + "\"");
  return spec;
}

void write_text_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) throw CheckpointError(path, "could not write");
  }
  fsync_path(tmp, false);
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw CheckpointError(path, "could not rename into place: " + ec.message());
  }
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CheckpointError(path, "cannot be read");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace trl
