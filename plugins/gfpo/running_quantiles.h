// running_quantiles.h: exact quantiles of the values seen so far (optionally of the most recent ones), the
// deterministic stand-in for the t-digest of Adaptive Difficulty GFPO. A t-digest approximates; with one
// value per prompt the exact sorted list is small enough (8 bytes per prompt) and gives the same answer on
// every machine and process.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

namespace trl::gfpo {

/// A multiset of doubles kept sorted, with an optional window over the most recent additions.
class RunningQuantiles {
 public:
  /// `window` = 0 keeps every value; otherwise only the last `window` added.
  explicit RunningQuantiles(int64_t window = 0);
  /// Adds a value (NaN is refused: a bug in the caller), dropping the oldest beyond the window.
  void add(double value);
  /// The q-quantile (q in [0, 1]) with linear interpolation between order statistics, as torch.quantile
  /// and numpy's default: position q * (n - 1). NaN when empty.
  double quantile(double q) const;
  /// Values held.
  int64_t size() const { return static_cast<int64_t>(sorted_.size()); }

 private:
  int64_t window_;
  std::deque<double> arrival_;  // insertion order, for the window
  std::vector<double> sorted_;  // the same values, ascending
};

}  // namespace trl::gfpo
