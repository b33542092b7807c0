// python_params.h: the arguments of the python reward and group filter: which Python callable to load
// (a file or a module, and a name in it), keyword arguments for a class, and the virtual environment.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "trl/sdk/params.h"
#include "trl/sdk/plugin.h"

namespace trl::python {

/// Where a component's Python callable comes from, with every path made absolute.
struct CallableSpec {
  ComponentKind kind = ComponentKind::reward;  ///< reward or group_filter, for messages
  std::string file;          ///< absolute path of a .py file; empty when `module` names it
  std::string module;        ///< a dotted module name importable from sys.path; empty when `file` names it
  std::string function;      ///< the name in the file or module: a function, a callable object or a class
  nlohmann::json kwargs;     ///< keyword arguments for a class's constructor (an object), or null
  std::string venv;          ///< absolute folder of a virtual environment, or empty for the system Python
  std::string config_dir;    ///< the run config's folder (importable), or empty
  std::string where;         ///< the arguments' location for errors ("run.json: reward_funcs[0]: args")
};

/// The parameters both components declare: file, module, function, kwargs, venv.
ParamTable callable_params(ComponentKind kind);

/// Reads validated arguments. Relative `file` and `venv` paths are relative to the run config's folder
/// (as every path in a run config); `venv` defaults to $VIRTUAL_ENV. ConfigError when neither or both of
/// file and module are given.
CallableSpec parse_callable_spec(const Args& args, ComponentKind kind);

}  // namespace trl::python
