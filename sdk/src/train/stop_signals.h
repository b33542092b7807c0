// SIGINT/SIGTERM during training: finish the current step, save a checkpoint, return. A second signal
// of the same kind ends the process at once (the handler resets itself).
#pragma once

#include <csignal>

namespace trl {

/// Installs the handlers for its lifetime and restores the previous ones after.
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  /// The signal received (SIGINT or SIGTERM), or 0.
  int received() const;

 private:
  struct sigaction old_int_;
  struct sigaction old_term_;
};

}  // namespace trl
