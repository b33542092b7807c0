// The probe: a full load of one plugin file in a child process (`trl-host plugins probe FILE`, hidden),
// step by step, reported as JSON lines on a dedicated descriptor so that nothing the plugin prints can
// be mistaken for a result. The parent side runs the child with a deadline and turns its report, its
// exit status and its last stderr lines into one verdict per step (spec/plugin-abi.md 3.8).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "child_process.h"
#include "cli.h"

namespace trl::host {

/// One step of a probe as the parent understood it.
struct ProbeStep {
  std::string step;                 ///< load_steps name: "pre-load checks", "dlopen", ...
  bool pass = false;                ///< whether it passed
  std::string message;              ///< why it failed (raw dlerror for dlopen; the child's fate if it died)
  std::vector<std::string> stderr_tail;  ///< the child's last stderr lines when it died or timed out
};

/// The outcome of probing one file.
struct ProbeOutcome {
  std::vector<ProbeStep> steps;     ///< in order; the failed step, if any, is last
  bool passed = false;              ///< every step passed and the child exited 0
  nlohmann::json components = nlohmann::json::array();  ///< what init registered: [{kind, name, help, params}]
  ChildResult child;                ///< the raw child result
};

/// Child side: runs every step on `path` under the common options' policy, writing one JSON object per
/// line to `report_fd`: {"step", "event": "begin"|"pass"|"fail", "message"}, and {"components": [...]}
/// after the registrations matched. Returns the exit code: 0 if every step passed, 3 otherwise.
int run_plugin_probe(const CommonOptions& common, const std::string& path, int report_fd);

/// Parent side: runs `exe` (trl-host) as `exe [common flags] plugins probe PATH --report-fd 3` with a
/// deadline and interprets the result; a step the child began but never finished failed with the
/// child's fate ("killed by signal 11 (Segmentation fault)", "timed out after 30 s and was killed").
ProbeOutcome probe_plugin(const std::string& exe, const std::string& path, const CommonOptions& common,
                          double timeout_s);

}  // namespace trl::host
