// An environment variable set (or unset) for one test and restored afterwards; shared by the unit tests
// that steer code through the environment (plugin policy and search path, OpenMP wait policy).
#pragma once

#include <stdlib.h>

#include <string>

namespace test_support {

/// Sets `name` to `value` (unsets it for nullptr) while alive; restores the previous value or absence.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = getenv(name)) {
      had_ = true;
      old_ = old;
    }
    value != nullptr ? setenv(name, value, 1) : unsetenv(name);
  }
  ~ScopedEnv() { had_ ? setenv(name_.c_str(), old_.c_str(), 1) : unsetenv(name_.c_str()); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_, old_;
  bool had_ = false;
};

}  // namespace test_support
