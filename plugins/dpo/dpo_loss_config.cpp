// DPO loss config: names, parsing, validation and warnings (spec §1.1, §6.A).
#include "dpo_loss_config.h"

#include <cmath>
#include <sstream>

#include "trl/sdk/error.h"
#include "trl/sdk/params.h"

namespace trl::dpo {
namespace {

std::string number_text(double value) {
  std::ostringstream out;
  out.precision(15);  // 0.1 prints as 0.1; enough digits to tell values apart
  out << value;
  return out.str();
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

bool uses(const DpoLossConfig& config, DpoLossType type) {
  for (DpoLossType t : config.loss_type)
    if (t == type) return true;
  return false;
}

void require_finite(double value, const std::string& where, const std::string& key) {
  if (!std::isfinite(value)) throw ConfigError(where, key, "expected a finite number, got " + number_text(value));
}

}  // namespace

const std::vector<std::string>& dpo_loss_type_names() {
  // Same order as DpoLossType, which is TRL's order in its "Unknown loss type" message.
  static const std::vector<std::string> names = {
      "sigmoid", "hinge",    "ipo",      "exo_pair", "nca_pair", "robust", "bco_pair",    "sppo_hard",
      "aot",     "aot_unpaired", "apo_zero", "apo_down", "discopop", "sft",    "sigmoid_norm"};
  return names;
}

const std::vector<std::string>& f_divergence_type_names() {
  static const std::vector<std::string> names = {"reverse_kl", "forward_kl", "js_divergence", "alpha_divergence"};
  return names;
}

std::string to_string(DpoLossType type) { return dpo_loss_type_names().at(static_cast<size_t>(type)); }

std::string to_string(FDivergenceType type) { return f_divergence_type_names().at(static_cast<size_t>(type)); }

DpoLossType parse_dpo_loss_type(const std::string& text, const std::string& where, const std::string& key) {
  const std::vector<std::string>& names = dpo_loss_type_names();
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == text) return static_cast<DpoLossType>(i);
  const std::string guess = did_you_mean(text, names);
  throw ConfigError(where, key,
                    "unknown loss type \"" + text + "\"" + (guess.empty() ? "" : " (did you mean \"" + guess + "\"?)") +
                        "; expected one of: " + join(names));
}

FDivergenceType parse_f_divergence_type(const std::string& text, const std::string& where, const std::string& key) {
  const std::vector<std::string>& names = f_divergence_type_names();
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == text) return static_cast<FDivergenceType>(i);
  const std::string guess = did_you_mean(text, names);
  throw ConfigError(where, key,
                    "unknown f-divergence \"" + text + "\"" + (guess.empty() ? "" : " (did you mean \"" + guess + "\"?)") +
                        "; expected one of: " + join(names));
}

std::vector<std::pair<DpoLossType, double>> weighted_loss_terms(const DpoLossConfig& config) {
  std::vector<std::pair<DpoLossType, double>> terms;
  for (size_t i = 0; i < config.loss_type.size(); ++i)
    terms.emplace_back(config.loss_type[i], config.loss_weights.empty() ? 1.0 : config.loss_weights.at(i));
  // Legacy RPO (spec §1.9): loss += rpo_alpha × NLL of the chosen completions, i.e. an sft term.
  if (config.rpo_alpha) terms.emplace_back(DpoLossType::sft, *config.rpo_alpha);
  return terms;
}

DpoLossNeeds dpo_loss_needs(const DpoLossConfig& config) {
  DpoLossNeeds needs;
  for (const auto& [type, weight] : weighted_loss_terms(config)) {
    if (type == DpoLossType::ipo || type == DpoLossType::sigmoid_norm) needs.completion_lengths = true;
    if (type == DpoLossType::sft) needs.sft = true;
  }
  needs.wpo_weights = config.use_weighting;
  return needs;
}

void validate(const DpoLossConfig& config, const std::string& where) {
  require_finite(config.beta, where, "beta");
  if (config.beta <= 0.0)
    throw ConfigError(where, "beta", "expected a number > 0 (the losses divide by or scale with it), got " +
                                         number_text(config.beta));
  if (config.loss_type.empty())
    throw ConfigError(where, "loss_type", "expected at least one loss type, got an empty list");
  if (!config.loss_weights.empty() && config.loss_weights.size() != config.loss_type.size())
    throw ConfigError(where, "loss_weights",
                      "expected one weight per loss_type entry (" + std::to_string(config.loss_type.size()) +
                          "), got " + std::to_string(config.loss_weights.size()));
  for (size_t i = 0; i < config.loss_weights.size(); ++i)
    require_finite(config.loss_weights[i], where, "loss_weights[" + std::to_string(i) + "]");

  const double eps = config.label_smoothing;
  require_finite(eps, where, "label_smoothing");
  // exo_pair takes log(ε) and log(1−ε): TRL only refuses ε == 0 and yields NaN for ε < 0 (§6.A A2).
  if (uses(config, DpoLossType::exo_pair) && !(eps > 0.0 && eps < 1.0))
    throw ConfigError(where, "label_smoothing",
                      "loss_type exo_pair needs label_smoothing in (0, 1) (the EXO paper suggests 1e-3), got " +
                          number_text(eps));
  // robust divides by 1 − 2ε: TRL only warns outside [0, 0.5) and divides by zero at 0.5 (§6.A A10).
  if (uses(config, DpoLossType::robust) && !(eps >= 0.0 && eps < 0.5))
    throw ConfigError(where, "label_smoothing",
                      "loss_type robust needs label_smoothing in [0, 0.5) (a label-flip probability), got " +
                          number_text(eps));
  if (eps < 0.0 || eps > 1.0)
    throw ConfigError(where, "label_smoothing", "expected a number in [0, 1], got " + number_text(eps));

  if (config.ld_alpha) {
    require_finite(*config.ld_alpha, where, "ld_alpha");
    // TRL documents [0, 1] but enforces nothing (§6.A A3); outside it the tail weight is meaningless.
    if (*config.ld_alpha < 0.0 || *config.ld_alpha > 1.0)
      throw ConfigError(where, "ld_alpha", "expected a number in [0, 1] or null, got " + number_text(*config.ld_alpha));
  }
  require_finite(config.f_alpha_divergence_coef, where, "f_alpha_divergence_coef");
  require_finite(config.discopop_tau, where, "discopop_tau");
  if (config.discopop_tau <= 0.0)
    throw ConfigError(where, "discopop_tau", "expected a number > 0, got " + number_text(config.discopop_tau));
  if (config.rpo_alpha) require_finite(*config.rpo_alpha, where, "rpo_alpha");

  // TRL 1.16 (docs/parity.md): the f-DPO reparameterisation leaves a β·log Z(x) term that cancels only in the
  // chosen−rejected score difference, so the other losses have no f-divergence form and are refused.
  if (config.f_divergence_type != FDivergenceType::reverse_kl) {
    for (DpoLossType type : config.loss_type) {
      switch (type) {
        case DpoLossType::sigmoid: case DpoLossType::sigmoid_norm: case DpoLossType::hinge: case DpoLossType::ipo:
        case DpoLossType::exo_pair: case DpoLossType::robust: case DpoLossType::discopop: case DpoLossType::sft:
          continue;
        default:
          throw ConfigError(where, "f_divergence_type",
                            "'" + to_string(config.f_divergence_type) + "' is only supported with loss types sigmoid, "
                            "sigmoid_norm, hinge, ipo, exo_pair, robust, discopop and sft (as TRL 1.16), got loss_type " +
                            to_string(type) + "; use reverse_kl with it");
      }
    }
  }

  // aot sorts rows over the batch, so per-pair WPO weights would land on other pairs (TRL raises too).
  if (config.use_weighting && (uses(config, DpoLossType::aot) || uses(config, DpoLossType::aot_unpaired)))
    throw ConfigError(where, "use_weighting",
                      "WPO weighting cannot be combined with loss_type aot or aot_unpaired: those losses sort "
                      "the pairs over the batch, which misaligns the per-pair weights");
}

std::vector<std::string> warnings(const DpoLossConfig& config) {
  std::vector<std::string> out;
  const bool reads_eps = uses(config, DpoLossType::exo_pair) || uses(config, DpoLossType::robust) ||
                         uses(config, DpoLossType::aot) || uses(config, DpoLossType::aot_unpaired);
  if (config.label_smoothing != 0.0 && !reads_eps)
    out.push_back("label_smoothing=" + number_text(config.label_smoothing) +
                  " has no effect: only exo_pair, robust, aot and aot_unpaired read it (TRL's sigmoid loss has no "
                  "label smoothing since its DPO refactor; use robust for noisy labels)");
  if (config.use_weighting) {
    for (const auto& [type, weight] : weighted_loss_terms(config)) {
      if (type != DpoLossType::hinge && type != DpoLossType::sft) continue;
      // §6.A A1: TRL's in-place weighting breaks backward (hinge) or the forward (sft); we weight out of place.
      out.push_back("use_weighting with " + to_string(type) +
                    ": TRL crashes on this combination, so there are no TRL numbers to compare against; trl-host "
                    "applies the WPO weights to it as to every other loss type");
      break;
    }
  }
  if (config.rpo_alpha)
    out.push_back("rpo_alpha is deprecated (TRL removed it): it adds an sft term with weight rpo_alpha; prefer "
                  "loss_type [..., \"sft\"] with that loss_weight");
  if (config.f_divergence_type != FDivergenceType::alpha_divergence && config.f_alpha_divergence_coef != 0.5)
    out.push_back("f_alpha_divergence_coef is only read by f_divergence_type alpha_divergence; it is ignored with " +
                  to_string(config.f_divergence_type));
  return out;
}

}  // namespace trl::dpo
