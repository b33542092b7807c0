// The progress line on a terminal: step/total, loss, it/s, ETA. Silent when stderr is not a TTY.
#pragma once

#include <chrono>
#include <cstdint>

namespace trl {

/// Redraws one stderr line per step when stderr is a terminal.
class ProgressLine {
 public:
  /// `total` steps, starting after `start` completed ones (resume).
  ProgressLine(int64_t total, int64_t start);
  /// Ends the line.
  ~ProgressLine();
  /// After step `step` (1-based) with its loss.
  void update(int64_t step, double loss);

 private:
  bool enabled_;
  int64_t total_;
  int64_t start_;
  std::chrono::steady_clock::time_point began_;
};

}  // namespace trl
