// The TRL_DPO_DUMP_BATCHES debug dump (see dpo_batch_dump.h).
#include "dpo_batch_dump.h"

#include <cstdlib>
#include <fstream>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "trl/sdk/error.h"

namespace trl::dpo {
namespace {

constexpr const char* kVariable = "TRL_DPO_DUMP_BATCHES";

// (R, T) int64 tensor -> [[...], ...].
nlohmann::json rows_of(const at::Tensor& t) {
  const at::Tensor cpu = t.to(at::kCPU, at::kLong).contiguous();
  const int64_t rows = cpu.size(0), cols = cpu.size(1);
  const int64_t* v = cpu.data_ptr<int64_t>();
  nlohmann::json out = nlohmann::json::array();
  for (int64_t r = 0; r < rows; ++r) out.push_back(std::vector<int64_t>(v + r * cols, v + (r + 1) * cols));
  return out;
}

std::ofstream open_or_throw(const std::string& path, std::ios::openmode mode) {
  std::ofstream out(path, mode);
  if (!out) throw ConfigError(kVariable, "", "cannot open \"" + path + "\" for writing");
  return out;
}

}  // namespace

std::unique_ptr<BatchDump> BatchDump::from_environment() {
  const char* path = std::getenv(kVariable);
  if (path == nullptr || *path == '\0') return nullptr;
  return std::make_unique<BatchDump>(path);
}

BatchDump::BatchDump(std::string path) : path_(std::move(path)) { open_or_throw(path_, std::ios::trunc); }

void BatchDump::write(int64_t micro_batch, const std::vector<int64_t>& indices, const PreferenceBatch& batch) const {
  // TRL's labels: input_ids.masked_fill(completion_mask == 0, -100).
  const at::Tensor labels = batch.input_ids.masked_fill(batch.completion_mask.eq(0), -100);
  const nlohmann::json line = {{"micro_batch", micro_batch},
                               {"indices", indices},
                               {"input_ids", rows_of(batch.input_ids)},
                               {"attention_mask", rows_of(batch.attention_mask)},
                               {"completion_mask", rows_of(batch.completion_mask)},
                               {"labels", rows_of(labels)}};
  std::ofstream out = open_or_throw(path_, std::ios::app);
  out << line.dump() << "\n";
  if (!out) throw ConfigError(kVariable, "", "cannot write to \"" + path_ + "\"");
}

}  // namespace trl::dpo
