// Exact running quantiles over a (windowed) sorted multiset.
#include "running_quantiles.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "trl/sdk/error.h"

namespace trl::gfpo {

RunningQuantiles::RunningQuantiles(int64_t window) : window_(window) {
  TRL_INTERNAL_ASSERT(window >= 0, "window must be >= 0");
}

void RunningQuantiles::add(double value) {
  TRL_INTERNAL_ASSERT(!std::isnan(value), "RunningQuantiles::add(NaN)");
  sorted_.insert(std::upper_bound(sorted_.begin(), sorted_.end(), value), value);
  if (window_ > 0) {
    arrival_.push_back(value);
    if (static_cast<int64_t>(arrival_.size()) > window_) {
      sorted_.erase(std::lower_bound(sorted_.begin(), sorted_.end(), arrival_.front()));
      arrival_.pop_front();
    }
  }
}

double RunningQuantiles::quantile(double q) const {
  TRL_INTERNAL_ASSERT(q >= 0.0 && q <= 1.0, "quantile must be in [0, 1]");
  if (sorted_.empty()) return std::numeric_limits<double>::quiet_NaN();
  const double position = q * static_cast<double>(sorted_.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(position));
  const size_t hi = std::min(lo + 1, sorted_.size() - 1);
  const double fraction = position - static_cast<double>(lo);
  return sorted_[lo] + fraction * (sorted_[hi] - sorted_[lo]);
}

}  // namespace trl::gfpo
