// plugins/dpo/dpo_loss_config.h: the loss knobs of TRL's DPOConfig, their names, and which combinations
// are refused (spec/trl-reference.md §1.1, §1.5, §1.9, §6.A).
//
// TRL checks some combinations only when the loss is first computed, some not at all (§6.A); here every
// check runs once, when the config is read, and names the key at fault.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace trl::dpo {

/// One per-pair loss of TRL's `loss_type` list (formulas: spec §1.5).
enum class DpoLossType {
  sigmoid,       ///< DPO: −logσ(βΔ)
  hinge,         ///< SLiC: max(0, 1 − βΔ)
  ipo,           ///< IPO on length-normalised scores
  exo_pair,      ///< EXO, label_smoothing is its ε (must be in (0, 1))
  nca_pair,      ///< NCA
  robust,        ///< robust DPO, label_smoothing is the flip rate (must be in [0, 0.5))
  bco_pair,      ///< BCO without the legacy running-mean shift
  sppo_hard,     ///< SPPO with hard labels
  aot,           ///< AOT, paired (sorted over the batch)
  aot_unpaired,  ///< AOT, unpaired (sorted over the batch)
  apo_zero,      ///< APO-zero
  apo_down,      ///< APO-down
  discopop,      ///< DiscoPOP, uses discopop_tau
  sft,           ///< token-mean NLL of the chosen completions, broadcast to every pair
  sigmoid_norm   ///< sigmoid on length-normalised scores
};

/// How log-ratios become scores (spec §1.5 "Log-ratios and scores").
enum class FDivergenceType {
  reverse_kl,       ///< s = ρ (standard DPO)
  forward_kl,       ///< s = −exp(−ρ)
  js_divergence,    ///< s = logσ(ρ)
  alpha_divergence  ///< s = exp((a−1)ρ)/(a−1), a = f_alpha_divergence_coef
};

/// TRL's name of a loss type ("sigmoid", "aot_unpaired", ...).
std::string to_string(DpoLossType type);
/// TRL's name of an f-divergence ("reverse_kl", ...).
std::string to_string(FDivergenceType type);
/// Every loss type name, in TRL's order (the `loss_type` choices).
const std::vector<std::string>& dpo_loss_type_names();
/// Every f-divergence name, in TRL's order (the `f_divergence_type` choices).
const std::vector<std::string>& f_divergence_type_names();
/// Parses a loss type name; throws ConfigError(where, key, ...) with a "did you mean" otherwise.
DpoLossType parse_dpo_loss_type(const std::string& text, const std::string& where, const std::string& key);
/// Parses an f-divergence name; throws ConfigError(where, key, ...) otherwise.
FDivergenceType parse_f_divergence_type(const std::string& text, const std::string& where, const std::string& key);

/// Every loss knob of TRL's DPOConfig (HEAD), plus the two legacy ones the project keeps (§1.9).
/// Field names are the config keys.
struct DpoLossConfig {
  double beta = 0.1;                            ///< β (> 0); IPO's τ
  std::vector<DpoLossType> loss_type = {DpoLossType::sigmoid};  ///< summed, each with its weight; non-empty
  std::vector<double> loss_weights;             ///< one per loss_type entry; empty = TRL's None (all 1.0)
  double label_smoothing = 0.0;                 ///< ε of exo_pair, robust, aot, aot_unpaired (unused by the rest)
  FDivergenceType f_divergence_type = FDivergenceType::reverse_kl;  ///< score transform of the log-ratios
  double f_alpha_divergence_coef = 0.5;         ///< a of alpha_divergence; |a−1| < 1e-6 falls back to reverse_kl
  std::optional<double> ld_alpha;               ///< LD-DPO α in [0, 1]; nullopt = off (spec §1.4)
  bool use_weighting = false;                   ///< WPO: scale each pair's loss by w_chosen·w_rejected
  double discopop_tau = 0.05;                   ///< τ of discopop (> 0)
  std::optional<double> rpo_alpha;              ///< legacy RPO: adds an `sft` term with this weight
  /// Legacy (spec §1.9): the loss reads the reference log-probs as 0; the rewards/* metrics still use the
  /// reference model's, as TRL's legacy trainer did, so the reference model is loaded all the same.
  bool reference_free = false;
};

/// The loss terms actually summed: loss_type zipped with loss_weights (1.0 when empty), then
/// (sft, rpo_alpha) when rpo_alpha is set, which is how TRL deprecated RPO (spec §1.9).
std::vector<std::pair<DpoLossType, double>> weighted_loss_terms(const DpoLossConfig& config);

/// What a trainer has to compute for dpo_loss() under a config (to skip work it does not need).
struct DpoLossNeeds {
  bool completion_lengths = false;  ///< unshifted completion token counts (ipo, sigmoid_norm)
  bool sft = false;                 ///< raw chosen log-prob sums and token counts (sft or rpo_alpha)
  bool wpo_weights = false;         ///< WPO weights, i.e. log Σ_v p_v² per token (use_weighting)
};

/// The inputs dpo_loss() will require under `config`.
DpoLossNeeds dpo_loss_needs(const DpoLossConfig& config);

/// Refuses every invalid combination with ConfigError(where, key, ...) naming the key at fault:
/// beta <= 0, empty loss_type, loss_weights of another length, ld_alpha outside [0, 1], exo_pair with
/// label_smoothing outside (0, 1), robust with label_smoothing outside [0, 0.5), label_smoothing outside
/// [0, 1], use_weighting with aot or aot_unpaired, discopop_tau <= 0, and non-finite numbers.
void validate(const DpoLossConfig& config, const std::string& where);

/// Legal but surprising settings, one sentence each (the caller logs them once): label_smoothing that
/// no chosen loss reads, use_weighting with hinge or sft (TRL crashes there, §6.A A1), rpo_alpha
/// (deprecated in TRL for an `sft` entry), f_alpha_divergence_coef ignored by another f-divergence.
std::vector<std::string> warnings(const DpoLossConfig& config);

}  // namespace trl::dpo
