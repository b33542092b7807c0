// Label log-probabilities and per-token statistics without a (B, T, V) log-softmax
// (trl/sdk/model/token_stats.h).
//
// A custom autograd function gathers nothing but the N labelled rows, applies the lm_head in chunks and
// keeps only the per-row logsumexp for the backward pass, which recomputes each chunk's logits z; or, when
// the N × V probabilities fit TokenStatsOptions::keep_probabilities_mb, keeps them instead (one lm_head
// product fewer per chunk):
//   d logp / dz = onehot(label) - softmax(z)         (log-softmax, then gather)
//   d H / dz = -p ⊙ (log p + H)                      (entropy, only with entropy_grad)
//   dL/dh = (dz / temperature) · W                   dL/dW = (dz / temperature)ᵀ · h
// with dz = g·(onehot - p) + g_H·(-p ⊙ (log p + H)). The kept probabilities serve the log-prob term only,
// so entropy_grad always recomputes.
// Under autocast (bf16: true) the lm_head's products run in autocast's dtype, forward and backward, as
// torch.autocast runs a float32 model's lm_head and its MmBackward; the head and hidden states are cast once
// per call (not per chunk), and the log-softmax and everything after it stay in float32.
// Letters: B rows, T tokens, N labelled positions, n rows of one chunk, H hidden, V vocab.
#include "trl/sdk/model/token_stats.h"

#include <algorithm>
#include <cmath>
#include <string>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include "core/kernel_dispatch.h"
#include "logp_gradient_kernel.h"
#include "trl/sdk/error.h"
#include "trl/sdk/model/causal_lm.h"

namespace trl {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

/// Logits per chunk when chunk_rows is 0: 16 MB of float32, under glibc's largest mmap threshold (32 MB),
/// so the chunk buffer is reused from the heap instead of being faulted in afresh (token_stats.h).
constexpr int64_t kAutoChunkElements = int64_t{4} << 20;

/// z.logsumexp(-1) of a (n, V) z by logsumexp's own steps (amax, exp(z - max), sum, log + max), with z - max
/// written over z instead of into a new (n, V) tensor: the same values to the bit (test
/// TokenStatsFloat32.InPlaceLogsumexpIsBitExact) without the temporary's allocation and its pass through memory.
/// z is left holding exp(z - max).
at::Tensor logsumexp_overwriting(at::Tensor& z) {
  const at::Tensor row_max = z.amax(-1, /*keepdim=*/true);  // (n, 1)
  row_max.masked_fill_(row_max.abs() == INFINITY, 0);
  return z.sub_(row_max).exp_().sum(-1).log_().add_(row_max.squeeze(1));
}

constexpr int64_t kEntropy = 1, kMeanLogit = 2, kArgmaxHit = 4, kLogSumP2 = 8, kEntropyGrad = 16;  // forward() flags
constexpr int64_t kKeepProbabilities = 32;  // keep softmax(z) (N, V) for the backward pass

/// Outputs: logps, entropy, mean_logit, argmax_hit, log_sum_p2, each (N) (or (0) when not requested).
struct ChunkedLabelLogps : public torch::autograd::Function<ChunkedLabelLogps> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& hidden, const at::Tensor& weight,
                               const at::Tensor& labels, double temperature, int64_t chunk_rows, int64_t flags,
                               int64_t matmul_dtype) {
    const int64_t N = hidden.size(0);
    // The products' operands: the inputs themselves, or (autocast) their casts to its dtype, made once.
    const auto mm_type = static_cast<at::ScalarType>(matmul_dtype);
    const bool cast = mm_type != weight.scalar_type();
    const at::Tensor w_mm = cast ? weight.to(mm_type) : weight, h_mm = cast ? hidden.to(mm_type) : hidden;
    const auto acc = at::promote_types(at::kFloat, weight.scalar_type());
    const auto options = hidden.options().dtype(acc);
    auto maybe = [&](int64_t flag, at::ScalarType type) {
      return at::empty({(flags & flag) ? N : 0}, options.dtype(type));
    };
    at::Tensor logps = at::empty({N}, options), lse = at::empty({N}, options);
    at::Tensor entropy = maybe(kEntropy, acc), mean_logit = maybe(kMeanLogit, acc);
    at::Tensor argmax_hit = maybe(kArgmaxHit, at::kBool), log_sum_p2 = maybe(kLogSumP2, acc);
    // The caller keeps probabilities only for a float32/float64 head (the logits are then written in place).
    const bool keep = (flags & kKeepProbabilities) != 0;
    at::Tensor probs = keep ? at::empty({N, weight.size(0)}, options) : at::Tensor();  // (N, V)

    // Without a backward pass to come (a reference model, an evaluation), the chunk's logits are ours to
    // overwrite unless a statistic below reads them after the logsumexp. With one, the kept probabilities
    // stay exp(z - logsumexp(z)), the arithmetic of TRL's gradient (exp(z - max) / sum differs in the last
    // bit, which 20 training steps turn into visibly different make parity rows).
    const bool overwrite = !keep && (flags & (kEntropy | kLogSumP2)) == 0;
    // Kept probabilities in the head's dtype: the logits of every row in one product into their (N, V)
    // buffer, which exists anyway. Per chunk, the product reads the whole head (V × H) from memory again (65 MB
    // for the bench's large model, 8 times per call); the chunks' elementwise passes below stay chunk-sized.
    if (keep && !cast) at::mm_out(probs, hidden, weight.t());
    // Under autocast the same one product, into a temporary in autocast's dtype (half the buffer's bytes) that
    // is widened into the buffer in one pass. Each row's logits are those of the reference's chunked products
    // (TokenStatsAutocast checks the log-probs to the bit): a policy and its identical reference must agree.
    if (keep && cast) probs.copy_(at::mm(h_mm, w_mm.t()));
    for (int64_t start = 0; start < N; start += chunk_rows) {
      const int64_t n = std::min(chunk_rows, N - start);
      const at::Tensor label = labels.narrow(0, start, n);                          // (n)
      at::Tensor z;                                                                // (n, V)
      if (keep) {
        z = probs.narrow(0, start, n);
      } else {
        z = at::mm(h_mm.narrow(0, start, n), w_mm.t()).to(acc);
      }
      if (flags & kMeanLogit) mean_logit.narrow(0, start, n).copy_(z.mean(-1));
      if (flags & kArgmaxHit) argmax_hit.narrow(0, start, n).copy_(z.argmax(-1).eq(label));
      if (temperature != 1.0) z.div_(temperature);
      // z_label − logsumexp(z), TRL's selective_log_softmax arithmetic for float32 (a fused in-place
      // log_softmax was 7% faster per DPO step but moved the GRPO replay's grad_norm away from TRL's, from
      // 7.6e-7 to 3e-6 relative for grpo-token and past 1e-4 for vespo-token: docs/parity.md).
      const at::Tensor z_label = z.gather(1, label.unsqueeze(1)).squeeze(1);       // (n), before any overwrite
      const at::Tensor row_lse = overwrite ? logsumexp_overwriting(z) : z.logsumexp(-1);  // (n)
      lse.narrow(0, start, n).copy_(row_lse);
      logps.narrow(0, start, n).copy_(z_label - row_lse);
      if (flags & kEntropy) {  // H = lse - Σ p·z, as TRL's entropy_from_logits
        const at::Tensor p = (z - row_lse.unsqueeze(1)).exp_();
        entropy.narrow(0, start, n).copy_(row_lse - (p * z).sum(-1));
      }
      if (flags & kLogSumP2) log_sum_p2.narrow(0, start, n).copy_((z * 2).logsumexp(-1) - row_lse * 2);
      if (keep) z.sub_(row_lse.unsqueeze(1)).exp_();  // softmax(z), in place
    }
    ctx->save_for_backward({hidden, weight, labels});
    ctx->saved_data["lse"] = lse;
    if (cast) {
      ctx->saved_data["w_mm"] = w_mm;
      ctx->saved_data["h_mm"] = h_mm;
    }
    if (keep) ctx->saved_data["probs"] = probs;
    ctx->saved_data["temperature"] = temperature;
    ctx->saved_data["chunk_rows"] = chunk_rows;
    // Unused outputs then arrive undefined in backward(), so an entropy nobody differentiates costs nothing.
    ctx->set_materialize_grads(false);
    if (flags & kEntropyGrad) {
      // A detached alias: the output itself would hold this node through its grad_fn (a reference cycle).
      ctx->saved_data["entropy"] = entropy.detach();
      ctx->mark_non_differentiable({mean_logit, argmax_hit, log_sum_p2});
    } else {
      ctx->mark_non_differentiable({entropy, mean_logit, argmax_hit, log_sum_p2});
    }
    return {logps, entropy, mean_logit, argmax_hit, log_sum_p2};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const variable_list saved = ctx->get_saved_variables();
    const at::Tensor &hidden = saved[0], &weight = saved[1], &labels = saved[2];
    const at::Tensor lse = ctx->saved_data["lse"].toTensor();
    const double temperature = ctx->saved_data["temperature"].toDouble();
    const int64_t chunk_rows = ctx->saved_data["chunk_rows"].toInt();
    const bool cast = ctx->saved_data.count("w_mm") != 0;
    const at::Tensor w_mm = cast ? ctx->saved_data["w_mm"].toTensor() : weight;
    const at::Tensor h_mm = cast ? ctx->saved_data["h_mm"].toTensor() : hidden;
    const auto mm_type = w_mm.scalar_type();
    const bool need_hidden = ctx->needs_input_grad(0), need_weight = ctx->needs_input_grad(1);
    const at::Tensor& g_logps = grad_outputs[0];  // (N), or undefined when the log-probs are unused
    const at::Tensor& g_entropy = grad_outputs[1];  // (N), defined only with entropy_grad and a used entropy
    at::Tensor grad_hidden, grad_weight;
    if ((!g_logps.defined() && !g_entropy.defined()) || (!need_hidden && !need_weight))
      return {grad_hidden, grad_weight, {}, {}, {}, {}, {}};

    const int64_t N = hidden.size(0);
    const auto acc = lse.scalar_type();
    const at::Tensor g_acc = g_logps.defined() ? g_logps.to(acc) : at::zeros({N}, lse.options());
    if (ctx->saved_data.count("probs")) {  // never with entropy_grad (token_stats() does not keep them then)
      // Kept probabilities: dz = g·(onehot - p) / temperature for all N rows in place, then one matmul
      // each for dL/dh and dL/dW (no logits recomputed, no (V, H) accumulator re-read per chunk). The
      // probabilities are used up; a second backward pass (retain_graph) recomputes them from lse below.
      at::Tensor dz = ctx->saved_data["probs"].toTensor();  // (N, V)
      ctx->saved_data.erase("probs");
      at::Tensor dz_mm;
      if (mm_type == at::kBFloat16 && temperature == 1.0 && use_logp_gradient_kernel(dz, g_acc, labels)) {
        dz_mm = logp_gradient_bf16(dz, g_acc, labels);  // the ops' values below, in one pass
      } else {
        const at::Tensor g_rows = g_acc.unsqueeze(1);  // (N, 1)
        dz.mul_(-g_rows).scatter_add_(1, labels.unsqueeze(1), g_rows);
        if (temperature != 1.0) dz.div_(temperature);
        dz_mm = dz.to(mm_type);
      }
      if (need_hidden) grad_hidden = at::mm(dz_mm, w_mm).to(hidden.scalar_type());
      if (need_weight) grad_weight = at::mm(dz_mm.t(), h_mm).to(weight.scalar_type());
      return {grad_hidden, grad_weight, {}, {}, {}, {}, {}};
    }
    if (need_hidden) grad_hidden = at::empty_like(hidden);
    at::Tensor grad_weight_acc = need_weight ? at::zeros(weight.sizes(), weight.options().dtype(acc)) : at::Tensor();
    const at::Tensor entropy = g_entropy.defined() ? ctx->saved_data["entropy"].toTensor() : at::Tensor();
    const at::Tensor g_entropy_acc = g_entropy.defined() ? g_entropy.to(acc) : at::Tensor();
    for (int64_t start = 0; start < N; start += chunk_rows) {
      const int64_t n = std::min(chunk_rows, N - start);
      const at::Tensor h = hidden.narrow(0, start, n);                        // (n, H)
      const at::Tensor g_rows = g_acc.narrow(0, start, n).unsqueeze(1);       // (n, 1)
      const at::Tensor h_rows_mm = h_mm.narrow(0, start, n);                  // (n, H) in the products' dtype
      at::Tensor dz = at::mm(h_rows_mm, w_mm.t()).to(acc);                    // (n, V) recomputed logits
      if (temperature != 1.0) dz.div_(temperature);
      dz.sub_(lse.narrow(0, start, n).unsqueeze(1));                          // log p
      if (g_entropy.defined()) {
        // dH/dz = -p ⊙ (log p + H); with the log-prob term: dz = -p ⊙ (g + g_H·(log p + H)) + g·onehot.
        const at::Tensor g_h = g_entropy_acc.narrow(0, start, n).unsqueeze(1);   // (n, 1)
        const at::Tensor h_rows = entropy.narrow(0, start, n).unsqueeze(1);      // (n, 1)
        const at::Tensor factor = (dz + h_rows).mul_(g_h).add_(g_rows);          // (n, V) g + g_H·(log p + H)
        dz.exp_().mul_(factor).neg_();
      } else {
        dz.exp_().mul_(-g_rows);                                              // -g·softmax(z)
      }
      dz.scatter_add_(1, labels.narrow(0, start, n).unsqueeze(1), g_rows);    // + g·onehot(label)
      if (temperature != 1.0) dz.div_(temperature);
      if (cast) {
        const at::Tensor dz_mm = dz.to(mm_type);
        if (need_hidden) grad_hidden.narrow(0, start, n).copy_(at::mm(dz_mm, w_mm));
        if (need_weight) grad_weight_acc.add_(at::mm(dz_mm.t(), h_rows_mm));
      } else {
        if (need_hidden) {
          at::Tensor rows = grad_hidden.narrow(0, start, n);
          at::mm_out(rows, dz.to(weight.scalar_type()), weight);
        }
        if (need_weight) grad_weight_acc.addmm_(dz.t(), h.to(acc));
      }
    }
    if (need_weight) grad_weight = grad_weight_acc.to(weight.scalar_type());
    return {grad_hidden, grad_weight, {}, {}, {}, {}, {}};
  }
};

}  // namespace

TokenStats token_stats(const CausalLM& model, const at::Tensor& hidden, const at::Tensor& labels,
                       const TokenStatsOptions& options) {
  TRL_INTERNAL_ASSERT(hidden.dim() == 3 && hidden.size(2) == model.config().hidden_size,
                      "token_stats: hidden must be (B, T, H)");
  TRL_INTERNAL_ASSERT(labels.dim() == 2 && labels.size(0) == hidden.size(0) && labels.size(1) == hidden.size(1),
                      "token_stats: labels must be (B, T) like hidden");
  TRL_INTERNAL_ASSERT(labels.scalar_type() == at::kLong, "token_stats: labels must be int64");
  if (!(options.temperature > 0))
    throw ConfigError("token_stats", "temperature", "expected a number > 0, got " + std::to_string(options.temperature));
  if (options.keep_probabilities_mb < 0)
    throw ConfigError("token_stats", "keep_probabilities_mb", "expected an integer >= 0 (0 = always recompute), got " +
                                                                   std::to_string(options.keep_probabilities_mb));
  if (options.chunk_rows < 0)
    throw ConfigError("token_stats", "chunk_rows", "expected an integer >= 0 (0 = automatic), got " +
                                                        std::to_string(options.chunk_rows));

  const int64_t B = hidden.size(0), T = hidden.size(1), H = hidden.size(2), V = model.config().vocab_size;
  const int64_t chunk_rows = options.chunk_rows > 0 ? options.chunk_rows : std::max<int64_t>(1, kAutoChunkElements / V);
  const at::Tensor flat_labels = labels.reshape({B * T});
  const at::Tensor rows = flat_labels.ne(kIgnoreIndex).nonzero().squeeze(1);  // (N)
  const at::Tensor picked_labels = flat_labels.index_select(0, rows);         // (N)
  if (rows.size(0) > 0) {
    const int64_t lowest = picked_labels.min().item<int64_t>(), highest = picked_labels.max().item<int64_t>();
    if (lowest < 0 || highest >= V)
      throw DataError("token_stats", 0, "label id " + std::to_string(lowest < 0 ? lowest : highest) +
                                            " is outside the vocabulary [0, " + std::to_string(V) + ")");
  }
  const at::Tensor picked_hidden = hidden.reshape({B * T, H}).index_select(0, rows);  // (N, H)
  const at::Tensor& weight = model.lm_head_weight();
  const int64_t N = rows.size(0);
  const auto acc = at::promote_types(at::kFloat, weight.scalar_type());
  // Keep the probabilities when a backward pass will need them and they fit the budget (token_stats.h).
  const bool keep = !options.entropy_grad && at::GradMode::is_enabled() &&
                    (picked_hidden.requires_grad() || weight.requires_grad()) &&
                    weight.scalar_type() == acc &&
                    static_cast<double>(N) * static_cast<double>(V) * static_cast<double>(at::elementSize(acc)) <=
                        static_cast<double>(options.keep_probabilities_mb) * (1 << 20);
  const bool entropy = options.entropy || options.entropy_grad;
  const int64_t flags = (entropy ? kEntropy : 0) | (options.entropy_grad ? kEntropyGrad : 0) |
                        (options.mean_logit ? kMeanLogit : 0) | (options.argmax_hit ? kArgmaxHit : 0) |
                        (options.log_sum_p2 ? kLogSumP2 : 0) | (keep ? kKeepProbabilities : 0);
  // Under autocast a float32 head's products run in autocast's dtype (bf16: true); otherwise in its own.
  const at::ScalarType matmul_dtype = autocast_active(weight.device()) && weight.scalar_type() == at::kFloat
                                          ? autocast_matmul_dtype(weight.device())
                                          : weight.scalar_type();
  const variable_list out = ChunkedLabelLogps::apply(picked_hidden, weight, picked_labels, options.temperature,
                                                     chunk_rows, flags, static_cast<int64_t>(matmul_dtype));

  // Back to (B, T) with zeros at unlabelled positions; index_copy carries the gradient to the N rows.
  auto unpick = [&](const at::Tensor& values) {
    return at::zeros({B * T}, values.options()).index_copy(0, rows, values).view({B, T});
  };
  TokenStats stats;
  stats.logps = unpick(out[0]);
  if (entropy) stats.entropy = unpick(out[1]);
  if (options.mean_logit) stats.mean_logit = unpick(out[2]);
  if (options.argmax_hit) stats.argmax_hit = unpick(out[3]);
  if (options.log_sum_p2) stats.log_sum_p2 = unpick(out[4]);
  return stats;
}

}  // namespace trl
