// python_callable.h: a user's Python callable, found at config time: the file executed as a module (or the
// module imported), the name looked up, a class instantiated once with its kwargs.
#pragma once

#include <string>

#include <pybind11/pybind11.h>

#include "python_params.h"

namespace trl::python {

/// One loaded callable. Construction starts the interpreter if needed and imports the code; destruction
/// releases the Python object under the GIL. Not copyable. Hidden, as pybind11's own types are (its member
/// would otherwise be less visible than the class in code built without -fvisibility=hidden).
class __attribute__((visibility("hidden"))) PythonCallable {
 public:
  /// Starts Python with spec.venv, makes the file's folder and the run config's folder importable, runs
  /// the file as a module named after it (a file loaded by two components runs once) or imports the module,
  /// looks up spec.function and calls it with spec.kwargs when it is a class. Everything that can go wrong
  /// here is the user's configuration and throws ConfigError naming the key: a missing file ("file"), an
  /// exception or syntax error while importing ("file"/"module", with the traceback's last lines), a name
  /// that is not there or not callable ("function", with a did-you-mean), kwargs for a non-class or a
  /// constructor that raises ("kwargs").
  explicit PythonCallable(const CallableSpec& spec);
  ~PythonCallable();
  PythonCallable(const PythonCallable&) = delete;
  PythonCallable& operator=(const PythonCallable&) = delete;

  /// TRL's name for it: __name__ (of the wrapped function for a functools.partial), else the class name of
  /// a callable object.
  const std::string& name() const { return name_; }
  /// For messages: "reward function 'accuracy_reward' (rewards.py)".
  const std::string& label() const { return label_; }
  /// The callable. Use it only while holding the GIL.
  const pybind11::object& object() const { return callable_; }

 private:
  pybind11::object callable_;
  std::string name_;
  std::string label_;
};

}  // namespace trl::python
