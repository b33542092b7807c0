// plugins/bema/bema_checkpoint.h: the BEMA buffers inside a checkpoint folder, so that a resumed run
// continues the same average. A deliberate addition to TRL, whose BEMACallback keeps them only in memory:
// a resumed TRL run restarts θ₀, the EMA and the running model from the resumed weights.
#pragma once

#include <cstdint>
#include <string>

#include "bema_state.h"

namespace trl {
class CausalLM;
}

namespace trl::bema {

/// The file the `bema` callback adds to every checkpoint folder.
inline constexpr const char kBemaStateFile[] = "bema_state.safetensors";

/// Writes θ₀, the EMA and the running weights of `state` as "theta0.<name>", "ema.<name>" and
/// "running.<name>" (their dtype), plus the weights of `ref_model` as "ref.<name>" when it is given (a
/// reference the callback overwrites), to `path` atomically; the metadata records `global_step` and the
/// snapshot step. Throws ModelError naming `path` if it cannot be written.
void save_bema_checkpoint(const std::string& path, const BemaState& state, const CausalLM* ref_model,
                          int64_t global_step);

/// Restores what save_bema_checkpoint wrote into `state` (after its begin()) and, when given, `ref_model`.
/// Throws CheckpointError naming `path` when the file is from another step than `global_step`, or a tensor
/// is missing or has another shape.
void load_bema_checkpoint(const std::string& path, BemaState& state, CausalLM* ref_model, int64_t global_step);

}  // namespace trl::bema
