// Private to sdk/src/generate: the thread policy of generate() on the CPU.
#pragma once

#include <cstdint>
#include <optional>

#include "core/blas_threads.h"

namespace trl {

struct ModelConfig;

/// Runs generate()'s forward passes on one intra-op thread (ATen's OpenMP pool) and one BLAS thread
/// (OpenBLAS' own pool, when the process uses OpenBLAS), restoring both counts when it goes out of scope.
///
/// Why: a decode step is a few hundred ops on a handful of rows (8 × 256 floats at the small preset);
/// with two threads the second one mostly spin-waits at the end of each parallel region, and on a
/// loaded machine the first one waits at every barrier for its descheduled partner. The prefill
/// (P times more rows) suffered the same on the 2-core bench machine. Measured there (bench generate,
/// small preset, 2 threads configured, load average 14-19, CPU seconds per 8 × 128 generated tokens,
/// docs/performance.md "Generation"), old sampling code, libgomp's default spin: whole process on
/// OpenMP 2 + BLAS 2 threads 16.2 s, 2 + 1 10.6 s, 1 + 2 4.7 s, 1 + 1 3.1 s. With the passive wait of
/// host/src/process_defaults.cpp and token_sampler.h's buffers: prefill on 2 threads and decode on
/// 1 + 1 2.2-2.4 s, all on 1 + 1 1.5-1.8 s. The count is process-wide for OpenBLAS, so a BLAS call on
/// another thread during generate() also runs on one thread.
///
/// Only for small layers, though (one_thread_generation() below): measured on 2 quiet cores, 8 rows × 128
/// new tokens, a bench model with 2.8 MB MLP matrices (hidden 512, intermediate 1376) decodes 1.6x faster on
/// all intra-op threads (LibTorch 2.15: 2.78 → 1.71 s; 1.13 with OpenBLAS: 4.95 → 3.25 s), while one with
/// 0.7 MB matrices (hidden 256, intermediate 688) is 20% faster on one thread with 2.15 (0.54 against
/// 0.65 s) and 10% slower with 1.13 (1.18 against 1.07 s): each small matmul then costs less than waking
/// the second thread, and the sampler's draws take that core (token_sampler.h).
class ScopedGenerationThreads {
 public:
  /// Switches to one thread each; does nothing when `active` is false (a model on a GPU: the caller passes
  /// use_cpu_kernels(device), core/kernel_dispatch.h).
  explicit ScopedGenerationThreads(bool active);
  ~ScopedGenerationThreads();
  ScopedGenerationThreads(const ScopedGenerationThreads&) = delete;
  ScopedGenerationThreads& operator=(const ScopedGenerationThreads&) = delete;

 private:
  int saved_intra_op_ = 0;                // ATen's intra-op thread count before, 0 = untouched
  std::optional<ScopedBlasThreads> blas_;  // OpenBLAS on one thread while active
};

/// Whether idle OpenMP workers sleep at once, as libgomp reads its environment: GOMP_SPINCOUNT=0, or
/// OMP_WAIT_POLICY=PASSIVE without GOMP_SPINCOUNT (what trl-host sets for itself on Debian's LibTorch,
/// host/src/process_defaults.cpp).
bool openmp_workers_sleep();

/// True when generate() runs `config`'s model on one thread: when its largest layer matrix (an MLP
/// projection, intermediate × hidden) holds fewer than kOneThreadMaxLayerMatrix elements and the OpenMP
/// workers sleep at once. The measurements above were taken with sleeping workers; where they spin (libgomp's
/// default, kept by a trl-host built on the PyPI wheel's LibTorch) a hand-off costs little, and the small bench
/// model decoded 1.52x faster on both threads (LibTorch 2.15, Intel VM, 3 interleaved rounds: 0.483 -> 0.318 s
/// per 8 x 128 tokens; its GRPO step 0.810 -> 0.639 s; the same tokens).
bool one_thread_generation(const ModelConfig& config, bool workers_sleep = openmp_workers_sleep());
/// 512 Ki elements (2 MB in float32): between the two bench models measured above (176 Ki and 688 Ki).
constexpr int64_t kOneThreadMaxLayerMatrix = int64_t{1} << 19;

}  // namespace trl
