// Loading a Python callable at config time: every problem is a ConfigError naming the key, raised when the
// component is built (before training).
#include <gtest/gtest.h>

#include "python_test_support.h"
#include "trl/sdk/error.h"

namespace {

using python_test::error_of;
using python_test::PyDir;
using python_test::reward;

TEST(PythonCallable, MissingFileIsAConfigError) {
  PyDir dir;
  const std::string e = error_of<trl::ConfigError>([&] { reward({{"file", "nope.py"}, {"function", "f"}}, dir.path()); });
  EXPECT_NE(e.find("run.json: args: file: no such file: " + dir.path() + "/nope.py"), std::string::npos) << e;
  EXPECT_NE(e.find("relative to the run config's folder"), std::string::npos) << e;
}

TEST(PythonCallable, SyntaxErrorIsAConfigErrorWithTheLine) {
  PyDir dir;
  const std::string file = dir.write("bad_syntax.py", "def f(completions, **kwargs):\n    return [1.0 for c in]\n");
  const std::string e = error_of<trl::ConfigError>([&] { reward({{"file", file}, {"function", "f"}}); });
  EXPECT_NE(e.find("file: " + file + " failed to import: SyntaxError"), std::string::npos) << e;
  EXPECT_NE(e.find("line 2"), std::string::npos) << e;
}

TEST(PythonCallable, ExceptionAtImportIsAConfigError) {
  PyDir dir;
  const std::string file = dir.write("needs_pkg.py", "import trl_no_such_package\n");
  const std::string e = error_of<trl::ConfigError>([&] { reward({{"file", file}, {"function", "f"}}); });
  EXPECT_NE(e.find("ModuleNotFoundError: No module named 'trl_no_such_package'"), std::string::npos) << e;
}

TEST(PythonCallable, UnknownFunctionSuggestsTheClosest) {
  PyDir dir;
  const std::string file = dir.write("two_rewards.py",
                                     "def accuracy_reward(**kw):\n    return []\n"
                                     "def format_reward(**kw):\n    return []\nlimit = 3\n");
  const std::string e = error_of<trl::ConfigError>([&] { reward({{"file", file}, {"function", "accuracy_rewrd"}}); });
  EXPECT_NE(e.find("function: two_rewards.py defines no 'accuracy_rewrd' (did you mean 'accuracy_reward'?); its "
                   "callables: "),
            std::string::npos)
      << e;
  const std::string not_callable = error_of<trl::ConfigError>([&] { reward({{"file", file}, {"function", "limit"}}); });
  EXPECT_NE(not_callable.find("'limit' in two_rewards.py is a int, not a function or class"), std::string::npos)
      << not_callable;
}

TEST(PythonCallable, FileOrModuleExactlyOne) {
  EXPECT_NE(error_of<trl::ConfigError>([] { reward({{"function", "f"}}); }).find("file: missing"), std::string::npos);
  EXPECT_NE(error_of<trl::ConfigError>([] { reward({{"file", "a.py"}, {"module", "a"}, {"function", "f"}}); })
                .find("give either file or module, not both"),
            std::string::npos);
}

TEST(PythonCallable, KwargsOnlyForAClass) {
  PyDir dir;
  const std::string file = dir.write("plain.py", "def f(completions, **kw):\n    return [0.0] * len(completions)\n");
  const std::string e =
      error_of<trl::ConfigError>([&] { reward({{"file", file}, {"function", "f"}, {"kwargs", {{"a", 1}}}}); });
  EXPECT_NE(e.find("kwargs: 'f' in plain.py is not a class"), std::string::npos) << e;
}

TEST(PythonCallable, FilesFolderAndConfigFolderAreImportable) {
  PyDir config_dir, code_dir;
  config_dir.write("config_helpers.py", "BONUS = 2.0\n");
  code_dir.write("code_helpers.py", "def base():\n    return 1.0\n");
  const std::string file = code_dir.write("uses_helpers.py", R"(
from code_helpers import base
from config_helpers import BONUS
def f(completions, **kwargs):
    return [base() + BONUS] * len(completions)
)");
  trl::RewardInput in;
  in.prompts = {"p"};
  in.completions = {"c"};
  in.completion_ids = {{1}};
  // A relative file is found from the config's folder, as every path of a run config.
  const std::string relative = "../" + std::filesystem::path(code_dir.path()).filename().string() + "/uses_helpers.py";
  auto r = reward({{"file", relative}, {"function", "f"}}, config_dir.path());
  EXPECT_EQ(r->score(in), (std::vector<std::optional<double>>{3.0}));
}

TEST(PythonCallable, ModuleByName) {
  auto r = reward({{"module", "json"}, {"function", "loads"}});
  EXPECT_EQ(r->metric_name(), "loads");
  const std::string e = error_of<trl::ConfigError>([] { reward({{"module", "trl_no_such_module"}, {"function", "f"}}); });
  EXPECT_NE(e.find("module: cannot import 'trl_no_such_module': ModuleNotFoundError"), std::string::npos) << e;
}

TEST(PythonCallable, AnotherVenvInTheSameProcessIsRefused) {
  PyDir dir;
  const std::string file = dir.write("any.py", "def f(**kw):\n    return []\n");
  reward({{"file", file}, {"function", "f"}});  // the interpreter runs with no venv
  dir.write("venv/pyvenv.cfg", "home = /usr/bin\nversion = 3.11.2\n");
  const std::string e = error_of<trl::ConfigError>(
      [&] { reward({{"file", file}, {"function", "f"}, {"venv", dir.path() + "/venv"}}); });
  EXPECT_NE(e.find("venv: the Python interpreter of this process already runs with no virtual environment"),
            std::string::npos)
      << e;
}

}  // namespace
