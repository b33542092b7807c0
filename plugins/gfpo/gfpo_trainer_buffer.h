// gfpo_trainer_buffer.h: the gfpo trainer's rollout buffer: a generation batch cut into the micro-batches
// the following steps_per_generation × num_iterations micro-steps train on (spec §3.1 "Generation
// cadence"), with what the loss needs, and its checkpoint file.
//
// Letters: B rows of a micro-batch, P longest prompt, C longest completion (of the micro-batch).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

namespace trl::gfpo {

/// One micro-batch: prompt + completion rows, padded as TRL pads them (spec §3.1 "Padding").
struct MicroBatch {
  at::Tensor prompt_ids;       ///< (B, P) int64, left-padded with the pad id
  at::Tensor prompt_mask;      ///< (B, P) int64, 1 = real prompt token
  at::Tensor completion_ids;   ///< (B, C) int64, right-padded with the pad id
  at::Tensor completion_mask;  ///< (B, C) int64, 1 = a token that counts (0 on padding and masked truncations)
  at::Tensor advantages;       ///< (B,) float64
  at::Tensor old_logps;        ///< (B, C) log-probs at generation time; undefined = use the detached current ones
  at::Tensor ref_logps;        ///< (B, C) reference log-probs; defined iff beta != 0
  /// B (0 for an empty micro-batch).
  int64_t rows() const { return prompt_ids.defined() ? prompt_ids.size(0) : 0; }
};

/// Pads rows into a MicroBatch on `device`. For row b: prompts[b] (>= 1 id), completions[b] (>= 1 id),
/// mask_out[b] zeroes the whole completion mask (mask_truncated_completions, spec §3.1), advantages[b].
/// All vectors have B entries; B = 0 gives an empty micro-batch.
MicroBatch collate_rows(const std::vector<std::vector<int64_t>>& prompts,
                        const std::vector<std::vector<int64_t>>& completions, const std::vector<bool>& mask_out,
                        const std::vector<double>& advantages, int64_t pad_id, c10::Device device);

/// A buffered generation batch.
struct GenerationBuffer {
  int64_t generation = -1;          ///< which generation batch (0-based over the run); -1 = nothing buffered
  double num_items_in_batch = 0.0;  ///< dapo's N: active completion tokens of the whole batch (spec §6.B B7)
  std::vector<MicroBatch> chunks;   ///< steps_per_generation micro-batches; micro-step s uses s mod their count
};

/// Writes `buffer` to `path` (safetensors: "chunkK.field" tensors, the generation and N as metadata),
/// atomically. Throws ModelError naming the file on an I/O failure.
void save_buffer(const GenerationBuffer& buffer, const std::string& path);

/// Reads what save_buffer wrote, onto `device`. Throws CheckpointError naming the file when it is not such
/// a buffer.
GenerationBuffer load_buffer(const std::string& path, c10::Device device);

}  // namespace trl::gfpo
