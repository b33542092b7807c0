// Thread policy of generate() on the CPU (generation_threads.h).
#include "generation_threads.h"

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

bool one_thread_generation(const ModelConfig& config) {
  return config.intermediate_size * config.hidden_size < kOneThreadMaxLayerMatrix;
}

}  // namespace trl
