// What the training loop does to keep data-parallel ranks in step (private to libtrl_sdk): agree on
// each step's loss and stop flags, gather per-rank RNG states for a checkpoint, check that replicas are
// identical, and refuse to resume a checkpoint written by another world size. Every function takes the
// job's process group, or nullptr for a single process (then nothing is communicated).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

namespace trl::dist {

class ProcessGroup;

/// What all ranks agree on after an optimizer step.
struct StepAgreement {
  double mean_loss = 0.0;  ///< the step's loss averaged over ranks (each rank's micro-batches are equal-sized)
  int signal = 0;          ///< a stop signal any rank received (the largest), else 0
  bool stop = false;       ///< whether any rank asks to stop (a signal or should_training_stop)
};

/// Combines every rank's step loss, received signal and should_training_stop in one collective, so all
/// ranks stop after the same step even when a signal reaches them at different times.
StepAgreement agree_on_step(ProcessGroup* pg, double step_loss, int signal, bool should_stop);

/// The key of rank `rank`'s CPU RNG state in rng_state.safetensors: "cpu" for rank 0 (the single-process
/// layout), "cpu_rank<r>" for the others.
std::string rng_state_key(int64_t rank);

/// Every rank's `local_state` keyed by rng_state_key (a single entry without a group). Collective.
std::vector<std::pair<std::string, at::Tensor>> gather_rng_states(ProcessGroup* pg, const at::Tensor& local_state);

/// Throws DistributedError unless every rank holds bit-identical `tensors` (compared through a CRC-32C of
/// each tensor's bytes); `what` names them ("the policy"), the error the first differing tensor's index.
/// Collective; no-op without a group.
void check_replicas_identical(ProcessGroup* pg, const std::vector<at::Tensor>& tensors, const std::string& what);

/// Writes checkpoint_dir/distributed.json, the world size that wrote the checkpoint.
void write_world_size(const std::string& checkpoint_dir, int64_t world_size);

/// Throws CheckpointError when checkpoint_dir was written by another world size (a checkpoint without
/// distributed.json was written by one process): the data order and RNG states would not line up.
void check_world_size(const std::string& checkpoint_dir, int64_t world_size);

}  // namespace trl::dist
