// Two pieces of work on the two intra-op threads at once (side_by_side.h). Compiled with OpenMP (sdk/CMakeLists.txt):
// at::parallel_for spreads its range over LibTorch's threads only in a unit compiled so.
#include "core/side_by_side.h"

#include <cstdlib>
#include <cstring>

#include <ATen/Parallel.h>
#include <ATen/ThreadLocalState.h>

#include "core/blas_threads.h"
#include "core/torch_compat.h"
#include "train/autocast_scope.h"

namespace trl {

bool side_by_side_available() {
  const char* env = std::getenv("TRL_SIDE_BY_SIDE");
  if (env != nullptr && std::strcmp(env, "0") == 0) return false;
  return at::get_num_threads() == 2 && !at::in_parallel_region();
}

void run_side_by_side(const std::function<void()>& here, const std::function<void()>& there) {
  if (!side_by_side_available()) {
    here();
    there();
    return;
  }
  // The second thread is one of LibTorch's OpenMP workers, with its own (default) thread-local state.
  // ThreadLocalState carries grad mode and the dispatch keys (autocast on or off); the autocast dtype travels
  // separately, since LibTorch 1.13's ThreadLocalState does not hold it.
  const at::ThreadLocalState state;
  const bool autocast = compat::autocast_enabled(c10::DeviceType::CPU);
  const c10::ScalarType autocast_dtype = compat::autocast_dtype(c10::DeviceType::CPU);
  // OpenBLAS keeps its own pool, which a nested region does not stop: one thread per caller meanwhile.
  const ScopedBlasThreads one_blas_thread(1);
  // Two items over two threads: the calling thread (OpenMP's thread 0) takes item 0. Inside, at::parallel_for
  // runs nested loops serially, and MKL and oneDNN see the parallel region and use one thread. An exception
  // is kept until both items are done, then rethrown.
  at::parallel_for(0, 2, 1, [&](int64_t begin, int64_t end) {
    for (int64_t side = begin; side < end; ++side) {
      if (side == 0) {
        here();
        continue;
      }
      const at::ThreadLocalStateGuard same_state(state);
      const AutocastScope same_autocast(c10::Device(c10::kCPU), autocast, autocast_dtype);
      there();
    }
  });
}

}  // namespace trl
