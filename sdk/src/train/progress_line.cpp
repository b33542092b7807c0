// The terminal progress line (see progress_line.h).
#include "train/progress_line.h"

#include <unistd.h>

#include <cstdio>

namespace trl {

ProgressLine::ProgressLine(int64_t total, int64_t start)
    : enabled_(::isatty(STDERR_FILENO) == 1), total_(total), start_(start), began_(std::chrono::steady_clock::now()) {}

ProgressLine::~ProgressLine() {
  if (enabled_) std::fputs("\n", stderr);
}

void ProgressLine::update(int64_t step, double loss) {
  if (!enabled_) return;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - began_).count();
  const double done = static_cast<double>(step - start_);
  const double rate = elapsed > 0 ? done / elapsed : 0.0;
  const int64_t eta = rate > 0 ? static_cast<int64_t>(static_cast<double>(total_ - step) / rate) : 0;
  std::fprintf(stderr, "\r  step %lld/%lld | loss %.4f | %.2f it/s | ETA %lld:%02lld:%02lld   ",
               static_cast<long long>(step), static_cast<long long>(total_), loss, rate,
               static_cast<long long>(eta / 3600), static_cast<long long>((eta / 60) % 60),
               static_cast<long long>(eta % 60));
  std::fflush(stderr);
}

}  // namespace trl
