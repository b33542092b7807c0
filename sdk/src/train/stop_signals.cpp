// The stop-signal handlers (see stop_signals.h).
#include "train/stop_signals.h"

#include <atomic>

namespace trl {
namespace {
std::atomic<int> g_received{0};
extern "C" void record_signal(int signum) { g_received.store(signum); }
}  // namespace

StopSignals::StopSignals() {
  g_received.store(0);
  struct sigaction action {};
  action.sa_handler = record_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND;  // a second Ctrl-C terminates immediately
  sigaction(SIGINT, &action, &old_int_);
  sigaction(SIGTERM, &action, &old_term_);
}

StopSignals::~StopSignals() {
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
}

int StopSignals::received() const { return g_received.load(); }

}  // namespace trl
