// Checkpoint folders: written atomically (a temporary sibling renamed into place, so a checkpoint-N folder
// is either complete or absent), listed, pruned, and found again for resume.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace trl {

/// Folder name of the checkpoint after `step` optimizer steps: "checkpoint-<step>".
std::string checkpoint_name(int64_t step);

/// Creates output_dir/checkpoint-<step>: `fill` writes every file into a temporary folder, which is then
/// synced and renamed into place (replacing an older checkpoint of the same name). Returns the final path.
/// On failure the temporary folder is removed and CheckpointError is thrown. A checkpoint-<step> folder
/// without trainer_state.json (not written by trl-host) is never replaced: CheckpointError, before `fill`.
/// Temporaries left by a killed run (".tmp-"/".deleting-" folders of a dead process) are removed first.
std::string write_checkpoint(const std::string& output_dir, int64_t step,
                             const std::function<void(const std::string& dir)>& fill);

/// The complete checkpoints in output_dir, (step, path), oldest first: checkpoint-N folders holding
/// trainer_state.json. Temporaries and checkpoint-N folders without it (not written here) are ignored.
std::vector<std::pair<int64_t, std::string>> list_checkpoints(const std::string& output_dir);

/// Deletes the oldest checkpoints (as list_checkpoints finds them) so that at most `limit` remain; nothing
/// else in output_dir is touched. Each is renamed away first, so an interrupted prune never leaves a
/// partial checkpoint-N.
void prune_checkpoints(const std::string& output_dir, int64_t limit);

/// The folder to resume from: `spec` "last" = the newest checkpoint in output_dir, else a path that must
/// hold trainer_state.json. Throws ConfigError naming resume_from_checkpoint when there is none.
std::string resolve_checkpoint(const std::string& output_dir, const std::string& spec);

/// Writes `text` to `path` through a temporary file, fsync and rename.
void write_text_atomically(const std::string& path, const std::string& text);

/// Reads a whole file; throws CheckpointError naming it if it cannot.
std::string read_text(const std::string& path);

}  // namespace trl
