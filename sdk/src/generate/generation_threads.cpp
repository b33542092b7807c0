// Thread policy of generate() on the CPU (generation_threads.h).
#include "generation_threads.h"

#include <strings.h>

#include <cstdlib>

#include <ATen/Parallel.h>

#include "trl/sdk/model/model_config.h"

namespace trl {

ScopedGenerationThreads::ScopedGenerationThreads(bool active) {
  if (!active) return;
  const int intra_op = at::get_num_threads();
  if (intra_op > 1) {
    saved_intra_op_ = intra_op;
    at::set_num_threads(1);
  }
  blas_.emplace(1);
}

ScopedGenerationThreads::~ScopedGenerationThreads() {
  blas_.reset();
  if (saved_intra_op_ > 0) at::set_num_threads(saved_intra_op_);
}

bool openmp_workers_sleep() {
  // libgomp: a GOMP_SPINCOUNT that is set wins over OMP_WAIT_POLICY; PASSIVE alone means a count of 0.
  if (const char* count = std::getenv("GOMP_SPINCOUNT")) return std::strtoull(count, nullptr, 10) == 0;
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  return policy != nullptr && strcasecmp(policy, "passive") == 0;
}

bool one_thread_generation(const ModelConfig& config, bool workers_sleep) {
  return workers_sleep && config.intermediate_size * config.hidden_size < kOneThreadMaxLayerMatrix;
}

}  // namespace trl
