// Keeping data-parallel ranks in step (dist/data_parallel.h).
#include "dist/data_parallel.h"

#include <algorithm>
#include <filesystem>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <nlohmann/json.hpp>

#include "train/checkpoint.h"
#include "train/crc32c.h"
#include "trl/sdk/dist/process_group.h"
#include "trl/sdk/error.h"

namespace trl::dist {

StepAgreement agree_on_step(ProcessGroup* pg, double step_loss, int signal, bool should_stop) {
  if (pg == nullptr) return {step_loss, signal, signal != 0 || should_stop};
  const at::Tensor local = at::tensor({step_loss, static_cast<double>(signal), should_stop ? 1.0 : 0.0}, at::kDouble);
  StepAgreement out;
  double loss_sum = 0.0;
  for (const at::Tensor& rank : pg->all_gather(local)) {  // each (3,) float64
    const double* v = rank.data_ptr<double>();
    loss_sum += v[0];
    out.signal = std::max(out.signal, static_cast<int>(v[1]));
    out.stop = out.stop || v[1] != 0.0 || v[2] != 0.0;
  }
  out.mean_loss = loss_sum / static_cast<double>(pg->world_size());
  return out;
}

std::string rng_state_key(int64_t rank) { return rank == 0 ? "cpu" : "cpu_rank" + std::to_string(rank); }

std::vector<std::pair<std::string, at::Tensor>> gather_rng_states(ProcessGroup* pg, const at::Tensor& local_state) {
  if (pg == nullptr) return {{rng_state_key(0), local_state}};
  std::vector<std::pair<std::string, at::Tensor>> out;
  const std::vector<at::Tensor> states = pg->all_gather(local_state);
  for (size_t r = 0; r < states.size(); ++r) out.emplace_back(rng_state_key(static_cast<int64_t>(r)), states[r]);
  return out;
}

void check_replicas_identical(ProcessGroup* pg, const std::vector<at::Tensor>& tensors, const std::string& what) {
  if (pg == nullptr || tensors.empty()) return;
  // A CRC-32C of each tensor's bytes: equal checksums mean bit-identical weights up to a 2^-32 chance per
  // tensor, where sums (as before) could miss two swapped or sign-flipped elements.
  std::vector<int64_t> checksums;
  checksums.reserve(tensors.size());
  for (const at::Tensor& t : tensors) {
    const at::Tensor bytes = t.detach().cpu().contiguous();
    checksums.push_back(static_cast<int64_t>(crc32c(bytes.data_ptr(), bytes.nbytes())));
  }
  const at::Tensor local = at::tensor(checksums, at::kLong);  // (N,) int64
  const std::vector<at::Tensor> all = pg->all_gather(local);
  for (size_t r = 1; r < all.size(); ++r) {
    const at::Tensor differs = all[r].ne(all[0]).nonzero();
    if (differs.numel() > 0)
      throw DistributedError("rank " + std::to_string(r) + " holds different weights of " + what + " than rank 0 (" +
                             std::to_string(differs.numel()) + " of " + std::to_string(tensors.size()) +
                             " tensors differ, the first is tensor " + std::to_string(differs[0][0].item<int64_t>()) +
                             "): the replicas diverged (a component that is not deterministic across ranks, or a bug)");
  }
}

void write_world_size(const std::string& checkpoint_dir, int64_t world_size) {
  write_text_atomically(checkpoint_dir + "/distributed.json", nlohmann::json{{"world_size", world_size}}.dump() + "\n");
}

void check_world_size(const std::string& checkpoint_dir, int64_t world_size) {
  const std::string file = checkpoint_dir + "/distributed.json";
  int64_t saved = 1;
  if (std::filesystem::exists(file)) {
    try {
      saved = nlohmann::json::parse(read_text(file)).at("world_size").get<int64_t>();
    } catch (const nlohmann::json::exception& e) {
      throw CheckpointError(file, std::string("expected {\"world_size\": N}: ") + e.what());
    }
  }
  if (saved != world_size)
    throw CheckpointError(checkpoint_dir, "written by " + std::to_string(saved) + " process(es), resumed with " +
                                              std::to_string(world_size) + ": resume with WORLD_SIZE=" +
                                              std::to_string(saved) + " (--nproc-per-node x --nnodes), since the "
                                              "data order and the RNG states depend on it");
}

}  // namespace trl::dist
