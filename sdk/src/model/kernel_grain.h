// Private to the model sources: how the CPU kernels (decode_kernels.cpp, rope_kernel.cpp, rms_norm_kernel.cpp)
// split a pass over the intra-op threads with at::parallel_for.
#pragma once

#include <algorithm>
#include <cstdint>

namespace trl {

/// Elements below which a pass stays on the calling thread: waking a worker costs more than the pass.
constexpr int64_t kSerialElements = 1 << 15;

/// Rows (or slices) per task so that each task covers at least kSerialElements values of `width` each.
inline int64_t grain_rows(int64_t width) { return std::max<int64_t>(1, kSerialElements / std::max<int64_t>(1, width)); }

}  // namespace trl
