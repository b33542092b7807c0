// The `bema` callback's parameters: declaration (TRL names and defaults, spec §2.1-§2.2), reading,
// the device check, and the reference-model refresh schedule.
#include "bema_params.h"

#include <regex>

#include <ATen/detail/CUDAHooksInterface.h>

#include <nlohmann/json.hpp>

#include "trl/sdk/error.h"

namespace trl::bema {

ParamTable bema_param_table() {
  ParamTable t;
  // TRL's BEMACallback (spec §2.1). Ranges: TRL checks none, but a zero period divides by zero, a
  // negative exponent makes β_t or α_t grow past 1, and ρ + γ·t must stay positive for t >= 1.
  t.add("update_freq", ParamType::integer, 400, "update the BEMA weights every this many optimizer steps (phi)")
      .at_least(1);
  t.add("ema_power", ParamType::number, 0.5,
        "EMA decay exponent kappa: beta_t = (lag + multiplier * t)^-kappa; 0 disables the EMA")
      .at_least(0);
  t.add("bias_power", ParamType::number, 0.2,
        "bias-correction exponent eta: alpha_t = (lag + multiplier * t)^-eta; 0 pins alpha_t at 1")
      .at_least(0);
  t.add("lag", ParamType::integer, 10, "virtual starting age rho of both schedules").at_least(0);
  t.add("update_after", ParamType::integer, 0,
        "burn-in tau: theta_0 and the EMA are snapshotted at this step (never, if 0)")
      .at_least(0);
  t.add("multiplier", ParamType::number, 1.0, "step scale gamma in both schedules").greater_than(0);
  t.add("min_ema_multiplier", ParamType::number, 0.0, "floor on beta_t").range(0, 1);
  t.add("device", ParamType::string, "cpu", "where theta_0, the EMA and the BEMA weights live: cpu, cuda or cuda:N");
  // TRL's experimental bema_for_ref_model.BEMACallback (spec §2.2).
  t.add("update_ref_model", ParamType::boolean, false,
        "overwrite the trainer's reference model with the BEMA weights (needs a separate reference model)");
  t.add("ref_model_update_freq", ParamType::integer, 400, "overwrite the reference model every this many steps")
      .at_least(1);
  t.add("ref_model_update_after", ParamType::integer, 0, "no reference-model overwrite before this step").at_least(0);
  return t;
}

BemaCallbackParams BemaCallbackParams::from_args(const Args& args) {
  BemaCallbackParams p;
  p.bema.update_freq = args.integer("update_freq");
  p.bema.ema_power = args.number("ema_power");
  p.bema.bias_power = args.number("bias_power");
  p.bema.lag = args.integer("lag");
  p.bema.update_after = args.integer("update_after");
  p.bema.multiplier = args.number("multiplier");
  p.bema.min_ema_multiplier = args.number("min_ema_multiplier");
  p.bema.device = args.string("device");
  p.update_ref_model = args.boolean("update_ref_model");
  p.ref_model_update_freq = args.integer("ref_model_update_freq");
  p.ref_model_update_after = args.integer("ref_model_update_after");
  check_bema_params(p.bema, args.where());
  return p;
}

void check_bema_params(const BemaParams& p, const std::string& where) {
  auto require = [&where](bool ok, const char* key, const std::string& expected, const std::string& got) {
    if (!ok) throw ConfigError(where, key, "expected " + expected + ", got " + got);
  };
  require(p.update_freq >= 1, "update_freq", "an integer >= 1", std::to_string(p.update_freq));
  require(p.ema_power >= 0, "ema_power", "a number >= 0", nlohmann::json(p.ema_power).dump());
  require(p.bias_power >= 0, "bias_power", "a number >= 0", nlohmann::json(p.bias_power).dump());
  require(p.lag >= 0, "lag", "an integer >= 0", std::to_string(p.lag));
  require(p.update_after >= 0, "update_after", "an integer >= 0", std::to_string(p.update_after));
  require(p.multiplier > 0, "multiplier", "a number > 0", nlohmann::json(p.multiplier).dump());
  require(p.min_ema_multiplier >= 0 && p.min_ema_multiplier <= 1, "min_ema_multiplier", "a number in [0, 1]",
          nlohmann::json(p.min_ema_multiplier).dump());
  parse_bema_device(p.device, where, "device");
}

c10::Device parse_bema_device(const std::string& text, const std::string& where, const std::string& key) {
  static const std::regex kDevice("cpu|cuda(:([0-9]+))?");
  std::smatch m;
  if (!std::regex_match(text, m, kDevice))
    throw ConfigError(where, key, "expected \"cpu\", \"cuda\" or \"cuda:N\", got \"" + text + "\"");
  if (text == "cpu") return c10::Device(c10::kCPU);
  const at::CUDAHooksInterface& cuda = at::detail::getCUDAHooks();
  if (!cuda.hasCUDA())
    throw ConfigError(where, key, "\"" + text + "\" needs CUDA, but this LibTorch has no CUDA or sees no GPU");
  if (!m[2].matched) return c10::Device(c10::kCUDA);
  const std::string index_text = m[2].str();
  const int64_t gpus = cuda.getNumGPUs();
  if (index_text.size() > 6 || std::stoll(index_text) >= gpus)
    throw ConfigError(where, key, "\"" + text + "\" names a GPU that does not exist (" + std::to_string(gpus) +
                                      " visible)");
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(std::stoll(index_text)));
}

bool ref_model_refresh_due(const BemaCallbackParams& p, int64_t step) {
  // TRL (spec §2.2): checked after the BEMA logic of the same step, independently of its schedule.
  return p.update_ref_model && step >= p.ref_model_update_after &&
         (step - p.ref_model_update_after) % p.ref_model_update_freq == 0;
}

}  // namespace trl::bema
