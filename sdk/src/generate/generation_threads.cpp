// Thread policy of generate() on the CPU (generation_threads.h).
#include "generation_threads.h"

#include <dlfcn.h>

#include <ATen/Parallel.h>

namespace trl {
namespace {

// OpenBLAS keeps its own pthread pool, which at::set_num_threads does not resize. Its control
// functions are looked up at run time, so a LibTorch built on another BLAS (MKL, Accelerate) links
// and runs unchanged, with only the intra-op count switched.
using BlasGetThreads = int (*)();
using BlasSetThreads = void (*)(int);

struct OpenBlasThreads {
  BlasGetThreads get = reinterpret_cast<BlasGetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  BlasSetThreads set = reinterpret_cast<BlasSetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
};

const OpenBlasThreads& openblas() {
  static const OpenBlasThreads functions;
  return functions;
}

}  // namespace

ScopedGenerationThreads::ScopedGenerationThreads(bool active) {
  if (!active) return;
  const int intra_op = at::get_num_threads();
  if (intra_op > 1) {
    saved_intra_op_ = intra_op;
    at::set_num_threads(1);
  }
  const OpenBlasThreads& blas = openblas();
  if (blas.get != nullptr && blas.set != nullptr) {
    const int threads = blas.get();
    if (threads > 1) {
      saved_blas_ = threads;
      blas.set(1);
    }
  }
}

ScopedGenerationThreads::~ScopedGenerationThreads() {
  if (saved_blas_ > 0) openblas().set(saved_blas_);
  if (saved_intra_op_ > 0) at::set_num_threads(saved_intra_op_);
}

}  // namespace trl
