// Runs a program as a child process with a deadline and captures everything it writes, so `plugins
// check` can load a plugin in a throwaway process (the gst-plugin-scanner idea, spec/plugin-abi.md 3.8):
// a plugin that segfaults, aborts or hangs at load is reported, and the host survives.
#pragma once

#include <string>
#include <vector>

namespace trl::host {

/// How a child process ended and what it wrote.
struct ChildResult {
  bool started = false;      ///< fork and exec succeeded
  bool exited = false;       ///< it exited by itself (exit_code is meaningful)
  int exit_code = -1;        ///< its exit status when exited
  int signal = 0;            ///< the signal that killed it, 0 if none
  bool timed_out = false;    ///< it outlived the deadline and was killed (with its process group)
  double timeout_s = 0.0;    ///< the deadline it had
  std::string out;           ///< its stdout (at most the last 1 MiB)
  std::string err;           ///< its stderr (at most the last 1 MiB)
  std::string report;        ///< what it wrote to the report descriptor (at most the last 1 MiB)

  /// "exit code 3", "killed by signal 11 (Segmentation fault)", "timed out after 30 s and was killed", ...
  std::string describe() const;
  /// The last `n` non-empty lines of err.
  std::vector<std::string> last_err_lines(size_t n) const;
};

/// Runs argv[0] (a path, not searched in PATH) with argv and the current environment, in its own process
/// group, with stdout, stderr and descriptor `report_fd` (>= 3) captured through pipes and stdin from
/// /dev/null. After `timeout_s` seconds the whole group gets SIGKILL. Never throws for the child's
/// behaviour; throws std::system_error if the pipes or the fork cannot be made.
ChildResult run_child(const std::vector<std::string>& argv, double timeout_s, int report_fd);

}  // namespace trl::host
