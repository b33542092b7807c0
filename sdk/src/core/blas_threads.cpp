// OpenBLAS' thread count for a scope (blas_threads.h).
#include "core/blas_threads.h"

#include <dlfcn.h>

namespace trl {
namespace {

// Looked up at run time, so a LibTorch built on another BLAS links and runs unchanged.
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

ScopedBlasThreads::ScopedBlasThreads(int threads) {
  const OpenBlasThreads& blas = openblas();
  if (blas.get == nullptr || blas.set == nullptr) return;
  const int current = blas.get();
  if (current == threads) return;
  saved_ = current;
  blas.set(threads);
}

ScopedBlasThreads::~ScopedBlasThreads() {
  if (saved_ > 0) openblas().set(saved_);
}

}  // namespace trl
