// Private to libtrl_sdk: OpenBLAS' own thread count, switched for a scope.
#pragma once

namespace trl {

/// Sets OpenBLAS' thread count (its own pthread pool, which at::set_num_threads does not resize) for
/// the lifetime of the object and restores the previous count afterwards. Does nothing when the process
/// does not use OpenBLAS (LibTorch on MKL or Accelerate) or when the count is already `threads`. The
/// count is process-wide: a BLAS call on another thread meanwhile runs with it too.
class ScopedBlasThreads {
 public:
  /// Switches OpenBLAS to `threads` (>= 1) threads.
  explicit ScopedBlasThreads(int threads);
  ~ScopedBlasThreads();
  ScopedBlasThreads(const ScopedBlasThreads&) = delete;
  ScopedBlasThreads& operator=(const ScopedBlasThreads&) = delete;

 private:
  int saved_ = 0;  // the count before, 0 = untouched
};

}  // namespace trl
