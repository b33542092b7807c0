// Loading a user's Python callable at config time (see python_callable.h).
#include "python_callable.h"

#include <filesystem>
#include <vector>

#include "python_runtime.h"
#include "python_values.h"
#include "trl/sdk/error.h"

namespace trl::python {

namespace py = pybind11;
namespace fs = std::filesystem;

namespace {

// Runs `path` as the module `name`, as `python -c "import name"` would with its folder on sys.path, but from
// the exact file named (a same-named module elsewhere on sys.path cannot shadow it). A file already loaded
// under that name (by another component of the run) is reused, so it runs once.
py::module_ load_file(const CallableSpec& spec) {
  const std::string name = fs::path(spec.file).stem().string();
  py::dict modules = py::module_::import("sys").attr("modules");
  if (modules.contains(name)) {
    py::object existing = modules[py::str(name)];
    const std::string existing_file = py::hasattr(existing, "__file__") && !existing.attr("__file__").is_none()
                                          ? py::str(existing.attr("__file__")).cast<std::string>()
                                          : std::string("(built in)");
    if (existing_file == spec.file) return py::reinterpret_borrow<py::module_>(existing);
    throw ConfigError(spec.where, "file",
                      spec.file + " would be imported as the module '" + name + "', but that name is taken by " +
                          existing_file + "; rename the file");
  }
  const py::module_ util = py::module_::import("importlib.util");
  const py::object module_spec = util.attr("spec_from_file_location")(name, spec.file);
  if (module_spec.is_none())
    throw ConfigError(spec.where, "file", spec.file + " cannot be imported as Python code (expected a .py file)");
  py::module_ module = util.attr("module_from_spec")(module_spec);
  modules[py::str(name)] = module;  // as import does: the module sees itself in sys.modules while it runs
  try {
    module_spec.attr("loader").attr("exec_module")(module);
  } catch (const py::error_already_set& e) {
    modules.attr("pop")(name, py::none());
    throw ConfigError(spec.where, "file", spec.file + " failed to import: " + describe(e));
  }
  return module;
}

py::module_ load_module(const CallableSpec& spec) {
  try {
    return py::module_::import(spec.module.c_str());
  } catch (const py::error_already_set& e) {
    throw ConfigError(spec.where, "module", "cannot import '" + spec.module + "': " + describe(e));
  }
}

// What a user can name: the module's public callables.
std::vector<std::string> callables_in(const py::module_& module) {
  std::vector<std::string> out;
  for (const auto& [key, value] : module.attr("__dict__").cast<py::dict>()) {
    const std::string name = py::str(key).cast<std::string>();
    if (!name.empty() && name[0] != '_' && PyCallable_Check(value.ptr())) out.push_back(name);
  }
  return out;
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// TRL's reward_func_names: __name__, unwrapping functools.partial; a callable object's class name.
std::string trl_name(const py::object& callable) {
  py::object target = callable;
  const py::object partial = py::module_::import("functools").attr("partial");
  while (py::isinstance(target, partial)) target = target.attr("func");
  if (py::hasattr(target, "__name__")) return py::str(target.attr("__name__")).cast<std::string>();
  return py::str(py::type::of(target).attr("__name__")).cast<std::string>();
}

}  // namespace

PythonCallable::PythonCallable(const CallableSpec& spec) {
  const std::string source = spec.file.empty() ? "module " + spec.module : fs::path(spec.file).filename().string();
  const std::string kind = spec.kind == ComponentKind::reward ? "reward function" : "group filter";
  if (!spec.file.empty()) {
    std::error_code ec;
    if (!fs::is_regular_file(spec.file, ec))
      throw ConfigError(spec.where, "file",
                        "no such file: " + spec.file + " (a relative path is relative to the run config's folder)");
  }
  ensure_started(spec.venv, spec.where);

  const py::gil_scoped_acquire gil;
  // The user's imports: the run config's folder, then the file's own (which ends up first on sys.path).
  if (!spec.config_dir.empty()) add_import_dir(spec.config_dir);
  if (!spec.file.empty()) add_import_dir(fs::path(spec.file).parent_path().string());
  const py::module_ module = spec.file.empty() ? load_module(spec) : load_file(spec);

  if (!py::hasattr(module, spec.function.c_str())) {
    const std::vector<std::string> known = callables_in(module);
    const std::string hint = did_you_mean(spec.function, known);
    throw ConfigError(spec.where, "function",
                      source + " defines no '" + spec.function + "'" +
                          (hint.empty() ? std::string() : " (did you mean '" + hint + "'?)") +
                          (known.empty() ? std::string("; it defines no public callable")
                                         : "; its callables: " + join(known)));
  }
  py::object found = module.attr(spec.function.c_str());
  if (!PyCallable_Check(found.ptr()))
    throw ConfigError(spec.where, "function",
                      "'" + spec.function + "' in " + source + " is a " + type_name(found) +
                          ", not a function or class");
  const bool is_class = PyType_Check(found.ptr());
  if (!spec.kwargs.is_null() && !is_class)
    throw ConfigError(spec.where, "kwargs",
                      "'" + spec.function + "' in " + source + " is not a class; kwargs are only for a class's "
                      "constructor");
  if (is_class) {
    // TRL users pass an instance (reward_funcs=[MyReward(...)], group_filter_func=GroupFilter()): make it once.
    try {
      const py::dict kwargs = spec.kwargs.is_null() ? py::dict() : to_python(spec.kwargs).cast<py::dict>();
      found = found(**kwargs);
    } catch (const py::error_already_set& e) {
      throw ConfigError(spec.where, "kwargs", spec.function + "(...) in " + source + " raised " + describe(e));
    }
    if (!PyCallable_Check(found.ptr()))
      throw ConfigError(spec.where, "function",
                        "an instance of the class '" + spec.function + "' in " + source +
                            " is not callable (define __call__)");
  }
  callable_ = std::move(found);
  name_ = trl_name(callable_);
  label_ = kind + " '" + name_ + "' (" + source + ")";
}

PythonCallable::~PythonCallable() {
  const py::gil_scoped_acquire gil;
  callable_ = py::object();
}

}  // namespace trl::python
