// trl/sdk/train/metrics.h: metrics a trainer reports for one log interval.
//
// As TRL: each compute_loss call appends one value per metric; at a logging step the loop writes the
// mean of the values since the previous log (train/loop.cpp) and clears them. Values given as tensors
// are read (.item()) only at that point, so compute_loss does not wait on the device.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

namespace trl {

/// Named scalar series since the last log.
class Metrics {
 public:
  /// Appends a value to `name`'s series; the log shows the series mean.
  void add(const std::string& name, double value);
  /// Appends a 0-dim (or 1-element) tensor; detached now, read at log time.
  void add(const std::string& name, const at::Tensor& value);
  /// Replaces `name` with a single value that is reported as is (e.g. the running num_tokens).
  void set(const std::string& name, double value);
  /// The mean of every series (NaN-propagating, as TRL's DPO log()); set() values as given.
  nlohmann::json means() const;
  /// Forgets every series.
  void clear();
  /// Whether nothing was added since the last clear().
  bool empty() const;
  /// The names currently held, sorted.
  std::vector<std::string> names() const;

 private:
  std::map<std::string, std::vector<double>> values_;
  std::map<std::string, std::vector<at::Tensor>> tensors_;
  std::map<std::string, double> latest_;
};

}  // namespace trl
