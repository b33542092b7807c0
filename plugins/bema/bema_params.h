// plugins/bema/bema_params.h: the parameters of the `bema` callback, with TRL's names and defaults
// (spec/trl-reference.md §2.1 and §2.2), their declaration for the run config, and the two schedules
// that decide at which optimizer steps something happens.
#pragma once

#include <cstdint>
#include <string>

#include <c10/core/Device.h>

#include "trl/sdk/params.h"

namespace trl::bema {

/// BEMA's own parameters (TRL's BEMACallback, spec §2.1). Paper symbols in brackets.
struct BemaParams {
  int64_t update_freq = 400;         ///< [φ] update the BEMA weights every this many optimizer steps; >= 1
  double ema_power = 0.5;            ///< [κ] EMA decay exponent; 0 disables the EMA (β_t = 1); >= 0
  double bias_power = 0.2;           ///< [η] bias-correction exponent; 0 pins α_t at 1; >= 0
  int64_t lag = 10;                  ///< [ρ] virtual starting age of the schedules; >= 0
  int64_t update_after = 0;          ///< [τ] burn-in: the θ₀/EMA snapshot step; >= 0
  double multiplier = 1.0;           ///< [γ] scale of the step in the schedules; > 0
  double min_ema_multiplier = 0.0;   ///< floor on β_t; in [0, 1]
  std::string device = "cpu";        ///< where θ₀, the EMA and the running weights live: "cpu" or "cuda[:N]"
};

/// The `bema` callback's parameters: BEMA's plus the reference-model refresh (TRL's experimental
/// bema_for_ref_model.BEMACallback, spec §2.2).
struct BemaCallbackParams {
  BemaParams bema;                     ///< the averaging itself
  bool update_ref_model = false;       ///< overwrite the trainer's reference model with the BEMA weights
  int64_t ref_model_update_freq = 400; ///< overwrite every this many optimizer steps; >= 1
  int64_t ref_model_update_after = 0;  ///< no overwrite before this step; >= 0

  /// Reads every field from arguments validated against bema_param_table(); checks the device.
  static BemaCallbackParams from_args(const Args& args);
};

/// Declares the eleven parameters of the `bema` callback (TRL names, defaults and ranges).
ParamTable bema_param_table();

/// Checks what the table cannot (the device string) and repeats its range checks for C++ callers who
/// build BemaParams by hand. Throws ConfigError "where: key: expected ..., got ...".
void check_bema_params(const BemaParams& params, const std::string& where);

/// Parses "cpu", "cuda" or "cuda:N" into a device that exists in this process (a CUDA device needs a
/// LibTorch built with CUDA and N below the GPU count). Throws ConfigError naming `where` and `key`.
c10::Device parse_bema_device(const std::string& text, const std::string& where, const std::string& key);

/// Whether the reference model is overwritten at the end of optimizer step `step` (1-based), spec §2.2:
/// update_ref_model, step >= ref_model_update_after and (step - ref_model_update_after) a multiple of
/// ref_model_update_freq.
bool ref_model_refresh_due(const BemaCallbackParams& params, int64_t step);

}  // namespace trl::bema
