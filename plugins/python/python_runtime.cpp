// The process's embedded CPython: libpython made global, venv, start-up, GIL released (see python_runtime.h).
#include "python_runtime.h"

// Python.h first, as CPython asks (it sets feature macros the standard headers read).
#include <pybind11/pybind11.h>

#include <dlfcn.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <regex>

#include "trl/sdk/error.h"
#include "trl/sdk/log.h"

namespace trl::python {

namespace py = pybind11;
namespace fs = std::filesystem;

namespace {

std::mutex& start_mutex() {
  static std::mutex m;
  return m;
}

// The venv the running interpreter was started with; nullopt while none runs.
std::optional<std::string>& running_venv() {
  static std::optional<std::string> venv;
  return venv;
}

// Re-opens the libpython this plugin is linked against with RTLD_GLOBAL. The plugin was loaded RTLD_LOCAL,
// and so were its dependencies, libpython among them; an extension module (numpy's _multiarray_umath) is not
// linked against libpython and finds the C API only in the global scope. RTLD_NOLOAD promotes the copy that
// is already loaded, so no second libpython appears. The file is found from one of its own symbols, so the
// soname (libpython3.11.so.1.0) is never spelled here.
void make_libpython_global() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&Py_InitializeFromConfig), &info) == 0 || info.dli_fname == nullptr)
    throw Error("python: cannot find the libpython this plugin is linked against (dladdr failed)");
  void* handle = dlopen(info.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
  if (handle == nullptr) {
    const char* why = dlerror();
    throw Error(std::string("python: cannot make ") + info.dli_fname +
                " global for extension modules: " + (why != nullptr ? why : "dlopen failed"));
  }
  // The handle stays open for the life of the process, as the plugin itself does.
}

// "3.11" from a venv's pyvenv.cfg ("version = 3.11.2" or, from Python 3.11's venv, "version_info = ..."),
// or "" when it says none.
std::string venv_python_version(const fs::path& cfg) {
  std::ifstream in(cfg);
  std::string line;
  static const std::regex kVersion(R"(^\s*version(_info)?\s*=\s*(\d+)\.(\d+))");
  std::smatch m;
  while (std::getline(in, line))
    if (std::regex_search(line, m, kVersion)) return m[2].str() + "." + m[3].str();
  return "";
}

// The interpreter a venv runs: bin/python3 (bin/python in some venvs).
fs::path checked_venv_python(const std::string& venv, const std::string& where) {
  std::error_code ec;
  if (!fs::is_directory(venv, ec))
    throw ConfigError(where, "venv", "no such folder: " + venv + " (a virtual environment made with "
                                         "`python3 -m venv`; it defaults to $VIRTUAL_ENV)");
  const fs::path cfg = fs::path(venv) / "pyvenv.cfg";
  if (!fs::exists(cfg, ec))
    throw ConfigError(where, "venv", venv + " is not a virtual environment: it has no pyvenv.cfg");
  const std::string ours = std::to_string(PY_MAJOR_VERSION) + "." + std::to_string(PY_MINOR_VERSION);
  const std::string theirs = venv_python_version(cfg);
  if (!theirs.empty() && theirs != ours)
    throw ConfigError(where, "venv",
                      venv + " is a Python " + theirs + " environment, but the python plugin embeds Python " + ours +
                          " (its packages would not import); make it with " + TRL_PYTHON_EXECUTABLE + " -m venv");
  for (const char* name : {"bin/python3", "bin/python"}) {
    const fs::path exe = fs::path(venv) / name;
    if (fs::exists(exe, ec)) return exe;
  }
  throw ConfigError(where, "venv", venv + " has no bin/python3");
}

std::string status_text(const PyStatus& status) {
  std::string text = status.err_msg != nullptr ? status.err_msg : "unknown error";
  if (status.func != nullptr) text = std::string(status.func) + ": " + text;
  return text;
}

void start(const std::string& venv, const std::string& where) {
  const fs::path executable = venv.empty() ? fs::path(TRL_PYTHON_EXECUTABLE) : checked_venv_python(venv, where);
  make_libpython_global();

  PyConfig config;
  PyConfig_InitPythonConfig(&config);
  config.install_signal_handlers = 0;  // SIGINT/SIGTERM stay the host's
  config.parse_argv = 0;
  PyStatus status = PyConfig_SetBytesString(&config, &config.executable, executable.c_str());
  if (!PyStatus_Exception(status)) status = Py_InitializeFromConfig(&config);
  PyConfig_Clear(&config);
  if (PyStatus_Exception(status)) throw Error("python: the interpreter failed to start: " + status_text(status));
  // sys.argv exists in every real Python program; some libraries read sys.argv[0].
  PyRun_SimpleString("import sys\nif not getattr(sys, 'argv', None): sys.argv = ['trl-host']\n");
  // Start-up holds the GIL; from now on only calls into Python take it.
  PyEval_SaveThread();
}

}  // namespace

void ensure_started(const std::string& venv, const std::string& where) {
  const std::lock_guard<std::mutex> lock(start_mutex());
  std::optional<std::string>& running = running_venv();
  if (running) {
    if (*running != venv)
      throw ConfigError(where, "venv",
                        "the Python interpreter of this process already runs with " +
                            (running->empty() ? std::string("no virtual environment") : "the venv " + *running) +
                            "; every python component of a run must use the same venv (one interpreter per "
                            "process), got " + (venv.empty() ? std::string("none") : venv));
    return;
  }
  if (Py_IsInitialized())
    throw Error("python: an interpreter is already running in this process, started by someone else; the "
                "python plugin needs to start its own");
  start(venv, where);
  running = venv;
  log::info("python: started Python " + python_version() +
            (venv.empty() ? std::string() : " in the virtual environment " + venv));
}

std::string started_venv() {
  const std::lock_guard<std::mutex> lock(start_mutex());
  return running_venv().value_or("");
}

std::string python_version() {
  return std::to_string(PY_MAJOR_VERSION) + "." + std::to_string(PY_MINOR_VERSION) + "." +
         std::to_string(PY_MICRO_VERSION);
}

void add_import_dir(const std::string& dir) {
  py::list path = py::module_::import("sys").attr("path");
  for (const py::handle item : path)
    if (py::isinstance<py::str>(item) && item.cast<std::string>() == dir) return;
  path.insert(0, dir);
}

}  // namespace trl::python
