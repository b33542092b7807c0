// Atomic checkpoint folders (see checkpoint.h).
#include "train/checkpoint.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
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

// Whether ".tmp-checkpoint-N-PID" / ".deleting-checkpoint-N-PID" names a process that is gone (a run
// killed while writing or pruning); its folder is garbage no run will read.
bool left_by_dead_process(const std::string& name) {
  if (name.rfind(".tmp-checkpoint-", 0) != 0 && name.rfind(".deleting-checkpoint-", 0) != 0) return false;
  const size_t dash = name.rfind('-');
  const std::string digits = name.substr(dash + 1);
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) return false;
  const long pid = std::stol(digits);
  return pid != ::getpid() && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

void remove_stale_temporaries(const fs::path& output_dir) {
  std::error_code ec;
  for (fs::directory_iterator it(output_dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (left_by_dead_process(it->path().filename().string())) {
      std::error_code rm;
      fs::remove_all(it->path(), rm);
    }
  }
}

}  // namespace

std::string write_checkpoint(const std::string& output_dir, int64_t step,
                             const std::function<void(const std::string& dir)>& fill) {
  const fs::path final_dir = fs::path(output_dir) / checkpoint_name(step);
  const fs::path tmp_dir = fs::path(output_dir) / (".tmp-" + checkpoint_name(step) + "-" + std::to_string(::getpid()));
  std::error_code ec;
  // A folder of that name that trl-host did not write (no trainer_state.json) is the user's: never
  // replaced or deleted, so the save stops here, before any work.
  if (fs::exists(final_dir, ec) && !fs::is_regular_file(final_dir / "trainer_state.json", ec))
    throw CheckpointError(final_dir.string(), "exists but was not written by trl-host (no trainer_state.json); it is "
                                              "left untouched: move it out of output_dir or choose another output_dir");
  remove_stale_temporaries(output_dir);
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
    // Only what write_checkpoint makes: a checkpoint-N folder holding trainer_state.json. A folder of that
    // name without it (the user's own, or anything not written by trl-host) is neither resumed from nor
    // pruned.
    if (entry.is_directory() && std::regex_match(name, m, kName) &&
        fs::is_regular_file(entry.path() / "trainer_state.json", ec))
      out.emplace_back(std::stoll(m[1].str()), entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void prune_checkpoints(const std::string& output_dir, int64_t limit) {
  auto all = list_checkpoints(output_dir);
  std::error_code ec;
  for (size_t i = 0; i + static_cast<size_t>(limit) < all.size(); ++i) {
    // Renamed first (atomic), then deleted: a run killed half way through remove_all leaves a
    // ".deleting-" folder (removed by the next write), never a checkpoint-N with some of its files gone.
    const fs::path doomed = fs::path(output_dir) /
                            (".deleting-" + fs::path(all[i].second).filename().string() + "-" + std::to_string(::getpid()));
    fs::rename(all[i].second, doomed, ec);
    if (!ec) fs::remove_all(doomed, ec);
  }
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
    if (!out) {
      out.close();
      std::error_code rm;
      fs::remove(tmp, rm);  // a full disk must not leave the half-written temporary behind
      throw CheckpointError(path, "could not write " + tmp);
    }
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
