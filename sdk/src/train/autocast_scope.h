// Private to libtrl_sdk: bf16 mixed precision for a scope (the training arguments' bf16 key).
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

namespace trl {

/// Autocast on `device`'s type with `dtype` as the lower precision for the lifetime of the object, in this
/// thread, as Python's `torch.autocast(device_type, dtype)` (what transformers' Trainer wraps compute_loss
/// in when bf16=True): matmuls and linear layers run in `dtype`, softmax, norms and reductions in float32,
/// the weights stay as they are. Leaving the outermost scope empties autocast's cache of cast weights.
/// Does nothing when `enabled` is false. Nests.
class AutocastScope {
 public:
  AutocastScope(c10::Device device, bool enabled, c10::ScalarType dtype = c10::kBFloat16);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  c10::DeviceType device_type_ = c10::DeviceType::CPU;
  bool was_enabled_ = false;
  c10::ScalarType previous_dtype_ = c10::kBFloat16;
};

}  // namespace trl
