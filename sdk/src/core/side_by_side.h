// Private to libtrl_sdk: two independent pieces of work on the two intra-op threads at once.
#pragma once

#include <functional>

namespace trl {

/// Whether run_side_by_side() runs its two functions at the same time in this thread now: LibTorch has
/// exactly two intra-op threads (at::get_num_threads()), this thread is not inside a parallel region, and
/// TRL_SIDE_BY_SIDE is not "0". With more threads, each function's operations spread over all of them
/// instead (ATen cannot nest a second level of threads); with one there is nothing to share.
bool side_by_side_available();

/// Runs `here` on this thread and `there` on LibTorch's second intra-op thread at the same time when
/// side_by_side_available(), otherwise `here` and then `there` on this thread. Side by side, each function's
/// ATen operations, kernels and BLAS/oneDNN products run on its own thread only (nested parallel loops run
/// serially), which on two cores beats splitting every operation in two: no wait at the end of each
/// operation, no product that its library leaves on one thread while the other idles. `there` runs with this
/// thread's thread-local state (grad mode, inference mode, autocast and its dtype); what it changes there
/// stays there. The two must not touch the same tensors' data or the random generator. An exception in either
/// is rethrown here after both have finished.
void run_side_by_side(const std::function<void()>& here, const std::function<void()>& there);

}  // namespace trl
