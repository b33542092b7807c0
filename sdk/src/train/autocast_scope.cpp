// bf16 mixed precision for a scope (autocast_scope.h); the LibTorch calls are in core/torch_compat.h.
#include "train/autocast_scope.h"

#include "core/torch_compat.h"

namespace trl {

AutocastScope::AutocastScope(c10::Device device, bool enabled, c10::ScalarType dtype) : device_type_(device.type()) {
  if (!enabled) return;
  active_ = true;
  was_enabled_ = compat::autocast_enabled(device_type_);
  previous_dtype_ = compat::autocast_dtype(device_type_);
  compat::set_autocast(device_type_, true, dtype);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  // As torch.autocast.__exit__: the cache of weights cast to bfloat16 lives as long as the outermost scope.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  compat::set_autocast(device_type_, was_enabled_, previous_dtype_);
}

}  // namespace trl
