// Debug dump of the collated DPO training batches, for the parity suite (docs/parity.md, case 3): with the
// environment variable TRL_DPO_DUMP_BATCHES=FILE, every training micro-batch is appended to FILE as one JSON
// line, so that another implementation's tokenization and data order can be compared token for token.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "trl/sdk/data/preference.h"

namespace trl::dpo {

/// Writes one JSON line per micro-batch: {"micro_batch", "indices" (dataset rows, batch order),
/// "input_ids", "attention_mask", "completion_mask" (each (2B, T) as nested lists: chosen rows, then
/// rejected rows), "labels" (input_ids where completion_mask is 1, else -100, TRL's labels)}.
class BatchDump {
 public:
  /// The dump named by TRL_DPO_DUMP_BATCHES, or null when it is unset or empty. The file is truncated
  /// once here; an unwritable path is a ConfigError naming the variable and the file.
  static std::unique_ptr<BatchDump> from_environment();
  explicit BatchDump(std::string path);
  /// Appends `batch` (on any device) with its dataset row indices.
  void write(int64_t micro_batch, const std::vector<int64_t>& indices, const PreferenceBatch& batch) const;

 private:
  std::string path_;
};

}  // namespace trl::dpo
