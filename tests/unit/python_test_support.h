// Shared by the python plugin's unit tests: a temp folder for Python files, and components built from
// arguments through the plugin's real parameter table. Every test runs in the same embedded interpreter
// (one per process) with no virtual environment ("venv": ""), whatever $VIRTUAL_ENV says.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "python_group_filter.h"
#include "python_params.h"
#include "python_reward.h"

namespace python_test {

/// A private folder removed at scope exit; write() puts a file in it and returns its path.
class PyDir {
 public:
  PyDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "trl-python-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~PyDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  PyDir(const PyDir&) = delete;
  PyDir& operator=(const PyDir&) = delete;
  const std::string& path() const { return path_; }
  std::string write(const std::string& name, const std::string& text) const {
    const std::string file = path_ + "/" + name;
    std::filesystem::create_directories(std::filesystem::path(file).parent_path());
    std::ofstream(file) << text;
    return file;
  }

 private:
  std::string path_;
};

/// Arguments as a run config would give them, validated by the component's table, with the config's
/// folder set as the host sets it.
inline trl::Args args_of(trl::ComponentKind kind, nlohmann::json args, const std::string& config_dir = "") {
  if (!args.contains("venv")) args["venv"] = "";
  trl::Args out = trl::python::callable_params(kind).validate(args, "run.json: args");
  out.set_config_dir(config_dir);
  return out;
}

inline std::unique_ptr<trl::python::PythonReward> reward(nlohmann::json args, const std::string& config_dir = "") {
  return std::make_unique<trl::python::PythonReward>(trl::python::parse_callable_spec(
      args_of(trl::ComponentKind::reward, std::move(args), config_dir), trl::ComponentKind::reward));
}

inline std::unique_ptr<trl::python::PythonGroupFilter> group_filter(nlohmann::json args) {
  return std::make_unique<trl::python::PythonGroupFilter>(trl::python::parse_callable_spec(
      args_of(trl::ComponentKind::group_filter, std::move(args)), trl::ComponentKind::group_filter));
}

/// The message of the exception `f` throws as E ("" if it throws nothing); another type fails the test.
template <class E, class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "";
}

/// The examples' Python files (examples/python/), which the tests use as a user would.
inline std::string example(const std::string& name) {
  return std::string(TRL_TEST_DATA_DIR) + "/../examples/python/" + name;
}

}  // namespace python_test
