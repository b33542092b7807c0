// trl/sdk/dist/process_group.h: the collectives data-parallel training needs, over torch.distributed's
// c10d (TCPStore rendezvous + ProcessGroupGloo, bundled in LibTorch). CPU tensors; every call is a
// collective: all ranks must make the same calls in the same order with tensors of the same shapes.
//
// A dead or stuck peer makes a call throw DistributedError (immediately when its sockets close, else
// after the timeout), never hang for ever.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "trl/sdk/dist/dist_env.h"
#include "trl/sdk/error.h"

namespace trl::dist {

/// A collective failed: a peer died, timed out, or the rendezvous could not be made. Exit code 1.
class DistributedError : public Error {
 public:
  /// `what` says which call failed and why.
  explicit DistributedError(const std::string& what);
  ~DistributedError() override;
};

/// The job's process group; one per process, held by unique_ptr. Destroying it leaves the group.
class ProcessGroup {
 public:
  /// Joins the job `env` describes: rank 0 serves the rendezvous store on master_port, the others
  /// connect to it; waits up to env.timeout for every rank. Throws DistributedError on failure.
  static std::unique_ptr<ProcessGroup> connect(const DistEnv& env);
  /// connect(*dist_env_from_environment()), or nullptr when the environment names no job.
  static std::unique_ptr<ProcessGroup> from_environment();
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  /// This process's global rank.
  int64_t rank() const { return env_.rank; }
  /// Processes in the job.
  int64_t world_size() const { return env_.world_size; }
  /// Whether this is rank 0, the process that writes outputs.
  bool is_main() const { return env_.rank == 0; }
  /// Where this process stands.
  const DistEnv& env() const { return env_; }

  /// Sums `tensor` over all ranks, in place (CPU, contiguous).
  void all_reduce_sum(at::Tensor& tensor);
  /// Averages the gradients of `parameters` over all ranks, in place, as DDP does: gradients are packed
  /// into buckets of about `bucket_bytes`, each bucket is summed with one all-reduce (all in flight at
  /// once) and divided by world_size. A parameter whose gradient is undefined on every rank stays
  /// undefined; undefined on some ranks counts as zero there.
  void all_reduce_gradients_mean(const std::vector<at::Tensor>& parameters, int64_t bucket_bytes = 25 << 20);
  /// Copies rank `root`'s values of `tensors` into every rank's (same shapes and dtypes everywhere).
  void broadcast(const std::vector<at::Tensor>& tensors, int64_t root = 0);
  /// Every rank's `tensor` (same shape and dtype on every rank), in rank order.
  std::vector<at::Tensor> all_gather(const at::Tensor& tensor);
  /// Every rank's `tensor`, in rank order, where the first dimension may differ between ranks (0 rows
  /// included); the other dimensions and the dtype must be the same everywhere. Two collectives: the row
  /// counts, then the rows padded to the longest.
  std::vector<at::Tensor> all_gather_rows(const at::Tensor& tensor);
  /// Every rank's `bytes` (any length, e.g. serialised JSON), in rank order.
  std::vector<std::string> all_gather_bytes(const std::string& bytes);
  /// Returns when every rank has called it.
  void barrier();

 private:
  struct Impl;
  ProcessGroup(DistEnv env, std::unique_ptr<Impl> impl);
  DistEnv env_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace trl::dist
