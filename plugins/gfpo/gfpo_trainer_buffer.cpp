// The gfpo trainer's rollout buffer: collation and checkpoint file (see gfpo_trainer_buffer.h).
#include "gfpo_trainer_buffer.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <utility>

#include "trl/sdk/error.h"
#include "trl/sdk/model/safetensors.h"

namespace trl::gfpo {

namespace {

constexpr const char* kFields[] = {"prompt_ids",  "prompt_mask", "completion_ids", "completion_mask",
                                   "advantages",  "old_logps",   "ref_logps"};

at::Tensor* field(MicroBatch& batch, const std::string& name) {
  if (name == "prompt_ids") return &batch.prompt_ids;
  if (name == "prompt_mask") return &batch.prompt_mask;
  if (name == "completion_ids") return &batch.completion_ids;
  if (name == "completion_mask") return &batch.completion_mask;
  if (name == "advantages") return &batch.advantages;
  if (name == "old_logps") return &batch.old_logps;
  if (name == "ref_logps") return &batch.ref_logps;
  return nullptr;
}

}  // namespace

MicroBatch collate_rows(const std::vector<std::vector<int64_t>>& prompts,
                        const std::vector<std::vector<int64_t>>& completions, const std::vector<bool>& mask_out,
                        const std::vector<double>& advantages, int64_t pad_id, c10::Device device) {
  const int64_t B = static_cast<int64_t>(prompts.size());
  TRL_INTERNAL_ASSERT(static_cast<int64_t>(completions.size()) == B && static_cast<int64_t>(mask_out.size()) == B &&
                          static_cast<int64_t>(advantages.size()) == B,
                      "collate_rows: one prompt, completion, mask flag and advantage per row");
  MicroBatch batch;
  if (B == 0) return batch;
  int64_t P = 0, C = 0;
  for (int64_t b = 0; b < B; ++b) {
    P = std::max<int64_t>(P, static_cast<int64_t>(prompts[static_cast<size_t>(b)].size()));
    C = std::max<int64_t>(C, static_cast<int64_t>(completions[static_cast<size_t>(b)].size()));
  }
  at::Tensor prompt_ids = at::full({B, P}, pad_id, at::kLong);  // (B, P)
  at::Tensor prompt_mask = at::zeros({B, P}, at::kLong);
  at::Tensor completion_ids = at::full({B, C}, pad_id, at::kLong);  // (B, C)
  at::Tensor completion_mask = at::zeros({B, C}, at::kLong);
  for (int64_t b = 0; b < B; ++b) {
    const auto& p = prompts[static_cast<size_t>(b)];
    const auto& c = completions[static_cast<size_t>(b)];
    const int64_t np = static_cast<int64_t>(p.size()), nc = static_cast<int64_t>(c.size());
    prompt_ids[b].narrow(0, P - np, np).copy_(at::tensor(p, at::kLong));
    prompt_mask[b].narrow(0, P - np, np).fill_(1);
    completion_ids[b].narrow(0, 0, nc).copy_(at::tensor(c, at::kLong));
    if (!mask_out[static_cast<size_t>(b)]) completion_mask[b].narrow(0, 0, nc).fill_(1);
  }
  batch.prompt_ids = prompt_ids.to(device);
  batch.prompt_mask = prompt_mask.to(device);
  batch.completion_ids = completion_ids.to(device);
  batch.completion_mask = completion_mask.to(device);
  batch.advantages = at::tensor(advantages, at::kDouble).to(device);
  return batch;
}

void save_buffer(const GenerationBuffer& buffer, const std::string& path) {
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (size_t k = 0; k < buffer.chunks.size(); ++k) {
    MicroBatch chunk = buffer.chunks[k];  // shallow: tensors share storage
    for (const char* name : kFields) {
      const at::Tensor& t = *field(chunk, name);
      if (t.defined()) tensors.emplace_back("chunk" + std::to_string(k) + "." + name, t);
    }
  }
  // N is a double; its decimal form with 17 digits reads back to the same value.
  char n[64];
  std::snprintf(n, sizeof n, "%.17g", buffer.num_items_in_batch);
  save_safetensors(path, tensors,
                   {{"format", "trl-gfpo-buffer"},
                    {"generation", std::to_string(buffer.generation)},
                    {"num_items_in_batch", n},
                    {"chunks", std::to_string(buffer.chunks.size())}});
}

GenerationBuffer load_buffer(const std::string& path, c10::Device device) {
  const SafetensorsFile file(path);
  const auto& meta = file.metadata();
  auto text = [&](const std::string& key) {
    const auto it = meta.find(key);
    if (it == meta.end()) throw CheckpointError(path, "not a gfpo buffer: metadata lacks \"" + key + "\"");
    return it->second;
  };
  if (text("format") != "trl-gfpo-buffer") throw CheckpointError(path, "not a gfpo buffer (format is not trl-gfpo-buffer)");
  GenerationBuffer buffer;
  size_t chunks = 0;
  try {
    buffer.generation = std::stoll(text("generation"));
    buffer.num_items_in_batch = std::stod(text("num_items_in_batch"));
    chunks = static_cast<size_t>(std::stoull(text("chunks")));
  } catch (const std::logic_error& e) {
    throw CheckpointError(path, std::string("bad buffer metadata: ") + e.what());
  }
  buffer.chunks.resize(chunks);
  for (size_t k = 0; k < chunks; ++k) {
    for (const char* name : kFields) {
      const std::string key = "chunk" + std::to_string(k) + "." + name;
      if (file.contains(key)) *field(buffer.chunks[k], name) = file.load(key).to(device);
    }
  }
  return buffer;
}

}  // namespace trl::gfpo
