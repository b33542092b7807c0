// Private to libtrl_sdk: a tensor shape as error messages print it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace trl {

/// "[2, 3, 4]" ("[]" for a scalar).
inline std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

}  // namespace trl
