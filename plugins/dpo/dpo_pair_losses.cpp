// The per-pair DPO losses, one branch per TRL loss type (spec §1.5; TRL dpo_trainer.py _compute_loss).
// Δ = s_c − s_r; which branch reads scores and which reads raw log-ratios follows TRL 1.16 (docs/parity.md):
// nca_pair, bco_pair, sppo_hard and both terms of apo_down read the raw log-ratios ρ, which TRL 1.10.0.dev0
// (the spec, §6.A A7) passed through the f-divergence.
#include "dpo_pair_losses.h"

#include <cmath>

#include <ATen/ATen.h>

#include "trl/sdk/error.h"

namespace trl::dpo {
namespace {

// −(1−ε)·logσ(βd) − ε·logσ(−βd): cDPO-style smoothing as the aot losses use it.
at::Tensor smoothed_sigmoid_loss(const at::Tensor& d, double beta, double eps) {
  return -at::log_sigmoid(beta * d) * (1.0 - eps) - at::log_sigmoid(-beta * d) * eps;
}

const at::Tensor& require(const at::Tensor& t, DpoLossType type, const char* field) {
  TRL_INTERNAL_ASSERT(t.defined(), "loss_type " + to_string(type) + " needs DpoPairTerms::" + field);
  return t;
}

}  // namespace

at::Tensor dpo_pair_loss(DpoLossType type, const DpoPairTerms& terms, const DpoLossConfig& config) {
  const double beta = config.beta;
  const double eps = config.label_smoothing;
  const at::Tensor& s_c = terms.chosen_scores;    // (B,)
  const at::Tensor& s_r = terms.rejected_scores;  // (B,)
  const at::Tensor delta = s_c - s_r;             // (B,) Δ
  switch (type) {
    case DpoLossType::sigmoid:
      return -at::log_sigmoid(beta * delta);

    case DpoLossType::hinge:
      return at::relu(1.0 - beta * delta);

    case DpoLossType::ipo: {
      // Scores averaged per completion token (TRL, confirmed with the IPO authors); β plays τ (IPO Eq. 17).
      const at::Tensor& len_c = require(terms.chosen_lengths, type, "chosen_lengths");
      const at::Tensor& len_r = require(terms.rejected_lengths, type, "rejected_lengths");
      const at::Tensor ipo_delta = s_c / len_c - s_r / len_r;
      return (ipo_delta - 1.0 / (2.0 * beta)).pow(2);
    }

    case DpoLossType::exo_pair: {
      // EXO Eq. 16: KL(softmax over {chosen, rejected} of βΔ ‖ [1−ε, ε]). log(1−ε) and log ε are taken in
      // double, not TRL's float32 (§6.A A2), so float64 runs are not rounded through float32.
      const double log_pw = std::log1p(-eps);
      const double log_pl = std::log(eps);
      const at::Tensor z = beta * delta;
      return at::sigmoid(z) * (at::log_sigmoid(z) - log_pw) + at::sigmoid(-z) * (at::log_sigmoid(-z) - log_pl);
    }

    case DpoLossType::nca_pair: {
      const at::Tensor r_c = beta * terms.chosen_logratios;
      const at::Tensor r_r = beta * terms.rejected_logratios;
      return -at::log_sigmoid(r_c) - 0.5 * at::log_sigmoid(-r_c) - 0.5 * at::log_sigmoid(-r_r);
    }

    case DpoLossType::robust: {
      // Unbiased under label flips with probability ε (robust DPO); validate() keeps ε in [0, 0.5).
      const at::Tensor clean = -(1.0 - eps) * at::log_sigmoid(beta * delta);
      const at::Tensor flipped = -eps * at::log_sigmoid(-beta * delta);
      return (clean - flipped) / (1.0 - 2.0 * eps);
    }

    case DpoLossType::bco_pair:
      // HEAD has no running-mean shift δ (the legacy trainer had one, §1.9).
      return -at::log_sigmoid(beta * terms.chosen_logratios) - at::log_sigmoid(-(beta * terms.rejected_logratios));

    case DpoLossType::sppo_hard:
      // SPPO with hard probabilities: P = 1 for the winner, 0 for the loser (Eq. 4.7).
      return (terms.chosen_logratios - 0.5 / beta).pow(2) + (terms.rejected_logratios + 0.5 / beta).pow(2);

    case DpoLossType::aot: {
      // Policy and reference margins sorted independently over the batch, on raw log-probs (no f-divergence).
      const at::Tensor margins = terms.chosen_logps - terms.rejected_logps;              // (B,)
      const at::Tensor ref_margins = terms.ref_chosen_logps - terms.ref_rejected_logps;  // (B,)
      const at::Tensor d = std::get<0>(at::sort(margins, /*dim=*/0)) - std::get<0>(at::sort(ref_margins, /*dim=*/0));
      return smoothed_sigmoid_loss(d, beta, eps);
    }

    case DpoLossType::aot_unpaired: {
      const at::Tensor d = std::get<0>(at::sort(terms.chosen_logratios, /*dim=*/0)) -
                           std::get<0>(at::sort(terms.rejected_logratios, /*dim=*/0));
      return smoothed_sigmoid_loss(d, beta, eps);
    }

    case DpoLossType::apo_zero:
      // APO Eq. 7 on raw log-ratios: raise chosen, lower rejected.
      return (1.0 - at::sigmoid(beta * terms.chosen_logratios)) + at::sigmoid(beta * terms.rejected_logratios);

    case DpoLossType::apo_down:
      // APO Eq. 8, on the raw log-ratios.
      return at::sigmoid(beta * terms.chosen_logratios) +
             (1.0 - at::sigmoid(beta * (terms.chosen_logratios - terms.rejected_logratios)));

    case DpoLossType::discopop: {
      // DiscoPOP Eq. 5: logistic and exponential losses blended by σ(z/τ).
      const at::Tensor z = beta * delta;
      const at::Tensor modulation = at::sigmoid(z / config.discopop_tau);
      return -at::log_sigmoid(z) * (1.0 - modulation) + at::exp(-z) * modulation;
    }

    case DpoLossType::sft:
      return require(terms.sft_loss, type, "sft_loss").expand({s_c.size(0)});

    case DpoLossType::sigmoid_norm: {
      const at::Tensor& len_c = require(terms.chosen_lengths, type, "chosen_lengths");
      const at::Tensor& len_r = require(terms.rejected_lengths, type, "rejected_lengths");
      return -at::log_sigmoid(beta * (s_c / len_c - s_r / len_r));
    }
  }
  throw InternalError("dpo_pair_loss: unhandled loss type");
}

}  // namespace trl::dpo
