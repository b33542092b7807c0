// python_runtime.h: the one embedded CPython of the process: started on first use, never stopped.
//
// Started by the first python component a run config builds (at config time, so a bad venv is a config
// error before training), with that component's virtual environment. Three things make an embedded
// interpreter inside an RTLD_LOCAL plugin behave like `python`:
// - libpython's symbols are made global (dlopen RTLD_NOLOAD|RTLD_GLOBAL of the libpython this plugin was
//   linked against) before Py_Initialize: extension modules such as numpy's are not linked against
//   libpython and resolve PyFloat_Type & co. from the global scope, which an RTLD_LOCAL plugin's
//   dependencies are not part of.
// - A venv is honoured the way `venv/bin/python` honours it: the interpreter is told that it is that
//   program, so CPython's own start-up reads pyvenv.cfg (sys.prefix, site-packages, and
//   include-system-site-packages exactly as configured).
// - Python does not install its signal handlers: SIGINT and SIGTERM stay the host's (a clean checkpoint).
// After start-up the GIL is released; every call into Python takes it (pybind11::gil_scoped_acquire) and
// gives it back on return, so the interpreter costs nothing between calls.
//
// The interpreter is never finalised: plugins are never unloaded, and finalising with extension modules
// loaded (numpy) is not reliably safe. Python objects are therefore never kept in static storage.
#pragma once

#include <string>

namespace trl::python {

/// Starts the interpreter unless it runs already. `venv` is a virtual environment's folder, or empty for
/// the system interpreter. `where` locates the arguments for errors ("run.json: reward_funcs[0]: args").
/// Throws ConfigError (key "venv") when the folder is not a venv of this Python's major.minor, or when the
/// interpreter already runs with another venv (one per process); trl::Error when CPython fails to start.
void ensure_started(const std::string& venv, const std::string& where);

/// The venv the interpreter runs with ("" for none); empty before ensure_started.
std::string started_venv();

/// "3.11.2": the CPython this plugin embeds.
std::string python_version();

/// Puts `dir` at the front of sys.path unless it is there already. Needs the GIL.
void add_import_dir(const std::string& dir);

}  // namespace trl::python
