// The probe: a full load of one plugin file in a child process (`trl-host plugins probe FILE`, hidden),
// step by step, reported as JSON lines on a dedicated descriptor so that nothing the plugin prints can
// be mistaken for a result. The parent side runs the child with a deadline and turns its report, its
// exit status and its last stderr lines into one verdict per step (spec/plugin-abi.md 3.8).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "child_process.h"
#include "cli.h"
#include "trl/sdk/plugin.h"

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

class ComponentCatalog;

/// Seconds a plugin's probe may take before `train` calls it hung: TRL_PLUGIN_PROBE_TIMEOUT when set to a
/// positive number, else 120 (generous: a false "hung" on a loaded machine would end a good run).
double train_probe_timeout_s();

/// For `train` and its aliases, before any plugin code runs in the host: probes, each in a child process
/// (probe_plugin), the plugin files that provide `components` ((kind, name) pairs: the trainer, callbacks,
/// rewards, group filter of the run), each file once per process; the plugins of the default folder next
/// to the executable (shipped and tested with trl-host) are not probed. A probe process that was killed by a
/// signal, exited abnormally or timed out throws PluginError naming the plugin, the step and the child's
/// fate (exit code 3): loaded in-process, that plugin would have crashed or hung the run. A probe that
/// failed cleanly (a step reported its error) throws nothing: the in-process load then reports that error
/// exactly as without a probe. Names no usable plugin declares are skipped (building them reports them).
void probe_before_loading(const ComponentCatalog& catalog,
                          const std::vector<std::pair<ComponentKind, std::string>>& components,
                          const CommonOptions& common, const std::string& where);

}  // namespace trl::host
