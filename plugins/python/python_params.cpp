// The python components' arguments (see python_params.h).
#include "python_params.h"

#include <cstdlib>
#include <filesystem>

namespace trl::python {

namespace fs = std::filesystem;

namespace {

// A path of the run config, absolute: relative ones are relative to the config's folder (or, with no
// config file, to the current directory).
std::string absolute_from(const std::string& path, const std::string& config_dir) {
  if (path.empty()) return path;
  fs::path p(path);
  if (p.is_relative()) p = config_dir.empty() ? fs::absolute(p) : fs::path(config_dir) / p;
  return p.lexically_normal().string();
}

}  // namespace

ParamTable callable_params(ComponentKind kind) {
  const bool reward = kind == ComponentKind::reward;
  ParamTable t;
  t.add("file", ParamType::string, nullptr,
        "a .py file defining the callable; relative to the run config's folder (give file or module)");
  t.add("module", ParamType::string, nullptr,
        "instead of file: a module importable from sys.path, e.g. \"my_rewards\" or \"pkg.rewards\"");
  t.add("function", ParamType::string, nullptr,
        reward ? "the reward function's name in it: a function, a callable object, or a class (made once with "
                 "kwargs)"
               : "the group filter's name in it: a function, a callable object, or a class (made once with "
                 "kwargs)")
      .make_required();
  t.add("kwargs", ParamType::object, nullptr, "keyword arguments for the class's constructor (a class only)");
  t.add("venv", ParamType::string, nullptr,
        "a virtual environment to import packages from (default: $VIRTUAL_ENV); relative to the run config's "
        "folder; one per process");
  return t;
}

CallableSpec parse_callable_spec(const Args& args, ComponentKind kind) {
  CallableSpec spec;
  spec.kind = kind;
  spec.where = args.where();
  spec.config_dir = args.config_dir();
  const std::optional<std::string> file = args.optional_string("file");
  const std::optional<std::string> module = args.optional_string("module");
  if (file.has_value() == module.has_value())
    args.fail(file ? "module" : "file",
              file ? "give either file or module, not both"
                   : "missing: name the Python code with \"file\": \"rewards.py\" (relative to the run config) or "
                     "\"module\": \"my_rewards\"");
  if (file && file->empty()) args.fail("file", "expected a path to a .py file, got an empty string");
  if (module && module->empty()) args.fail("module", "expected a module name, got an empty string");
  spec.file = absolute_from(file.value_or(""), spec.config_dir);
  spec.module = module.value_or("");
  spec.function = args.optional_string("function").value_or("");
  if (spec.function.empty()) args.fail("function", "expected the name of a function or class in the file or module");
  spec.kwargs = args.value("kwargs");
  if (!spec.kwargs.is_null() && !spec.kwargs.is_object())
    args.fail("kwargs", "expected an object of keyword arguments, got " + spec.kwargs.dump());
  if (args.has("venv")) {
    spec.venv = absolute_from(args.string("venv"), spec.config_dir);
  } else if (const char* env = std::getenv("VIRTUAL_ENV"); env != nullptr && *env != '\0') {
    spec.venv = absolute_from(env, "");  // an environment variable is relative to the current directory
  }
  // One spelling per folder ("venv/", "a/../venv"), so two components naming the same venv agree.
  std::error_code ec;
  if (!spec.venv.empty()) {
    const fs::path canonical = fs::weakly_canonical(spec.venv, ec);
    if (!ec) spec.venv = canonical.string();
    while (spec.venv.size() > 1 && spec.venv.back() == '/') spec.venv.pop_back();
  }
  return spec;
}

}  // namespace trl::python
