// Metrics: per-interval series, averaged at log time (TRL's `_metrics[mode][key].append(...)` + mean).
#include "trl/sdk/train/metrics.h"

#include <cmath>
#include <limits>

#include <ATen/ATen.h>

namespace trl {

void Metrics::add(const std::string& name, double value) { values_[name].push_back(value); }

void Metrics::add(const std::string& name, const at::Tensor& value) {
  tensors_[name].push_back(value.detach().reshape({}).to(at::kDouble, /*non_blocking=*/true));
}

void Metrics::set(const std::string& name, double value) { latest_[name] = value; }

nlohmann::json Metrics::means() const {
  // Series given as doubles and as tensors may share a name; the mean covers both.
  std::map<std::string, std::pair<double, int64_t>> sums;
  for (const auto& [name, series] : values_) {
    for (double v : series) {
      sums[name].first += v;
      sums[name].second += 1;
    }
  }
  for (const auto& [name, series] : tensors_) {
    if (series.empty()) continue;
    at::Tensor stacked = at::stack(series).cpu();  // one device sync for the whole series
    sums[name].first += stacked.sum().item<double>();
    sums[name].second += stacked.numel();
  }
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, sum_count] : sums) {
    double mean = sum_count.second > 0 ? sum_count.first / static_cast<double>(sum_count.second)
                                       : std::numeric_limits<double>::quiet_NaN();
    // JSON has no NaN: a NaN metric is written as null (as TRL's log turns all-NaN series into None).
    out[name] = std::isfinite(mean) ? nlohmann::json(mean) : nlohmann::json(nullptr);
  }
  for (const auto& [name, value] : latest_) out[name] = std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
  return out;
}

void Metrics::clear() {
  values_.clear();
  tensors_.clear();
  latest_.clear();
}

bool Metrics::empty() const { return values_.empty() && tensors_.empty() && latest_.empty(); }

std::vector<std::string> Metrics::names() const {
  std::map<std::string, int> all;
  for (const auto& kv : values_) all[kv.first] = 0;
  for (const auto& kv : tensors_) all[kv.first] = 0;
  for (const auto& kv : latest_) all[kv.first] = 0;
  std::vector<std::string> out;
  for (const auto& kv : all) out.push_back(kv.first);
  return out;
}

}  // namespace trl
