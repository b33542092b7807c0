// Both sides of the probe protocol (plugin_probe.h).
#include "plugin_probe.h"

#include <unistd.h>

#include <cerrno>
#include <exception>
#include <sstream>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <set>

#include <boost/dll/runtime_symbol_info.hpp>

#include "component_catalog.h"
#include "plugin_discovery.h"
#include "plugin_loader.h"
#include "trl/sdk/error.h"
#include "trl/sdk/log.h"

namespace trl::host {
namespace {

// Child side: one JSON object per line, written straight to the descriptor (no buffering to lose if the
// plugin kills the process right after).
class Report {
 public:
  explicit Report(int fd) : fd_(fd) {}
  void send(const nlohmann::json& j) const {
    const std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    size_t done = 0;
    while (done < line.size()) {
      const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // the parent went away; nothing left to tell
      done += static_cast<size_t>(n);
    }
  }
  void begin(const char* step) const { send({{"step", step}, {"event", "begin"}}); }
  void pass(const char* step, const std::string& message = "") const {
    send({{"step", step}, {"event", "pass"}, {"message", message}});
  }
  void fail(const char* step, const std::string& message) const {
    send({{"step", step}, {"event", "fail"}, {"message", message}});
  }

 private:
  int fd_;
};

nlohmann::json describe_components(const Registry& registry) {
  nlohmann::json out = nlohmann::json::array();
  for (const ComponentEntry& e : registry.entries())
    out.push_back({{"kind", to_string(e.kind)}, {"name", e.name}, {"help", e.help}, {"params", e.params.to_json()}});
  return out;
}

// Runs one step: reports begin, then pass or the PluginLoadError's detail (the raw dlerror for dlopen).
template <class F>
bool step(const Report& report, const char* name, F&& f) {
  report.begin(name);
  try {
    f();
  } catch (const PluginLoadError& e) {
    report.fail(name, e.detail());
    return false;
  } catch (const std::exception& e) {
    report.fail(name, e.what());
    return false;
  }
  report.pass(name);
  return true;
}

}  // namespace

int run_plugin_probe(const CommonOptions& common, const std::string& path, int report_fd) {
  const Report report(report_fd);
  PluginCandidate candidate;
  report.begin(load_steps::kPreload);
  try {
    candidate = examine_plugin_file(path, "probe", policy_from(common));
  } catch (const std::exception& e) {
    report.fail(load_steps::kPreload, e.what());
    return kExitPlugin;
  }
  if (candidate.status != PluginStatus::ok) {
    report.fail(load_steps::kPreload, candidate.status_text());
    return kExitPlugin;
  }
  report.pass(load_steps::kPreload);

  boost::dll::shared_library library;
  PluginEntryPoints entry;
  std::unique_ptr<Registry> registry;
  const bool ok =
      step(report, load_steps::kDlopen, [&] { library = open_plugin_library(path); }) &&
      step(report, load_steps::kSymbols, [&] { entry = resolve_entry_points(library, path); }) &&
      step(report, load_steps::kDescriptor,
           [&] { compare_descriptor(*entry.descriptor, candidate.descriptor(), path); }) &&
      step(report, load_steps::kInit, [&] { registry = run_plugin_init(entry, path); }) &&
      step(report, load_steps::kRegistrations, [&] { match_registrations(candidate.descriptor(), *registry, path); });
  if (!ok) return kExitPlugin;
  report.send({{"components", describe_components(*registry)}});
  // As at a real exit: the plugin's objects (its factories) go first, then its shutdown entry point.
  step(report, load_steps::kShutdown, [&] {
    registry.reset();
    entry.shutdown();
  });
  return kExitOk;
}

ProbeOutcome probe_plugin(const std::string& exe, const std::string& path, const CommonOptions& common,
                          double timeout_s) {
  constexpr int kReportFd = 3;
  std::vector<std::string> argv = {exe, "--log-level", common.log_level};
  if (common.allow_insecure_plugins) argv.push_back("--allow-insecure-plugins");
  if (common.stable_only) argv.push_back("--stable-only");
  for (const std::string& a : {std::string("plugins"), std::string("probe"), path, std::string("--report-fd"),
                               std::to_string(kReportFd)})
    argv.push_back(a);

  ProbeOutcome outcome;
  outcome.child = run_child(argv, timeout_s, kReportFd);
  const ChildResult& child = outcome.child;

  std::istringstream lines(child.report);
  std::string line;
  bool in_step = false;  // the last step began and has no result yet
  while (std::getline(lines, line)) {
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) continue;
    if (j.contains("components")) {
      outcome.components = j["components"];
      continue;
    }
    const std::string event = j.value("event", "");
    const std::string name = j.value("step", "");
    if (event == "begin") {
      outcome.steps.push_back({name, false, "", {}});
      in_step = true;
    } else if ((event == "pass" || event == "fail") && !outcome.steps.empty() && outcome.steps.back().step == name) {
      outcome.steps.back().pass = event == "pass";
      outcome.steps.back().message = j.value("message", "");
      in_step = false;
    }
  }

  const bool clean_exit = child.exited && !child.timed_out;
  const bool died = !clean_exit || (child.exit_code != kExitOk && child.exit_code != kExitPlugin);
  if (outcome.steps.empty()) {
    // It never reached the first step: exec failed, or the host itself could not start.
    outcome.steps.push_back({"probe", false, "the probe process " + child.describe(), child.last_err_lines(5)});
  } else if (in_step) {
    ProbeStep& s = outcome.steps.back();
    s.message = "the probe process " + child.describe() + " during this step";
    s.stderr_tail = child.last_err_lines(5);
  } else if (died && outcome.steps.back().pass) {
    // Every reported step passed, but the process did not end cleanly (a crash in a static destructor).
    outcome.steps.push_back({"exit", false, "the probe process " + child.describe() + " after the last step",
                             child.last_err_lines(5)});
  }
  outcome.passed = clean_exit && child.exit_code == kExitOk;
  for (const ProbeStep& s : outcome.steps) outcome.passed = outcome.passed && s.pass;
  return outcome;
}

double train_probe_timeout_s() {
  const char* text = std::getenv("TRL_PLUGIN_PROBE_TIMEOUT");
  if (text != nullptr) {
    char* end = nullptr;
    const double value = std::strtod(text, &end);
    if (end != text && *end == '\0' && value > 0) return value;
    log::warn(std::string("TRL_PLUGIN_PROBE_TIMEOUT='") + text + "' is not a positive number of seconds; using 120");
  }
  return 120.0;
}

void probe_before_loading(const ComponentCatalog& catalog,
                          const std::vector<std::pair<ComponentKind, std::string>>& components,
                          const CommonOptions& common, const std::string& where) {
  // Files already probed by this process (the dpo|gfpo aliases read the trainer's parameters first).
  static std::mutex mutex;
  static std::set<std::string> probed;
  std::vector<const PluginCandidate*> to_probe;
  for (const auto& [kind, name] : components) {
    const PluginCandidate* candidate = nullptr;
    try {
      candidate = &catalog.locate(kind, name, where, to_string(kind));
    } catch (const Error&) {
      continue;  // unknown or refused: building it reports that, with the usual message and exit code
    }
    // The plugins shipped with trl-host (the folder next to the executable) are built and tested with it;
    // a probe of each would add a process start (about 1-2 s of CPU) to every run for nothing.
    if (candidate->origin == "default") continue;
    std::lock_guard<std::mutex> lock(mutex);
    if (probed.count(candidate->path) == 0 && std::find(to_probe.begin(), to_probe.end(), candidate) == to_probe.end())
      to_probe.push_back(candidate);
  }
  if (to_probe.empty()) return;
  const std::string exe = boost::dll::program_location().string();
  const double timeout_s = train_probe_timeout_s();
  for (const PluginCandidate* c : to_probe) {
    const ProbeOutcome outcome = probe_plugin(exe, c->path, common, timeout_s);
    {
      std::lock_guard<std::mutex> lock(mutex);
      probed.insert(c->path);
    }
    const ChildResult& child = outcome.child;
    // Exit 0 (loads) or 3 (a step failed and said why) are the probe's own answers; anything else is
    // the plugin taking its process down.
    const bool died = !child.exited || child.timed_out || (child.exit_code != kExitOk && child.exit_code != kExitPlugin);
    if (!died) continue;
    const ProbeStep& step = outcome.steps.back();
    std::string message = step.message;
    for (const std::string& line : step.stderr_tail) message += "; stderr: " + line;
    throw PluginError(c->name.empty() ? c->path : c->name, "loading " + c->path + " (probed in a child process first)",
                      step.step + ": " + message + "; not loaded into this run (`trl-host plugins check " + c->path +
                          "` shows every step)");
  }
}

}  // namespace trl::host
