// Per-step sampling of generate() into buffers made once per call (token_sampler.h). Letters as there.
#include "token_sampler.h"

#include <cmath>
#include <memory>
#include <string>
#include <tuple>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include "core/kernel_dispatch.h"
#include "exponential_draws.h"
#include "model/decode_products.h"
#include "trl/sdk/error.h"
#include "trl/sdk/generate/logits_processors.h"
#include "trl/sdk/model/causal_lm.h"

namespace trl {
namespace {

/// True when process_logits() returns its input unchanged (no processor and no temperature).
bool no_processor(const SamplingParams& p) {
  const bool greedy = p.temperature == 0;
  return p.repetition_penalty == 1.0 &&
         (greedy || (p.temperature == 1.0 && p.top_k == 0 && p.top_p >= 1.0 && p.min_p <= 0));
}

}  // namespace

TokenSampler::TokenSampler(const CausalLM& model, int64_t rows, const SamplingParams& params)
    : model_(model), params_(params), generator_(at::make_generator<at::CPUGeneratorImpl>(params.seed)) {
  const int64_t V = model.config().vocab_size;
  const auto cpu_float = at::TensorOptions().dtype(at::kFloat);
  in_place_ = model.device().is_cpu() && model.dtype() == at::kFloat && no_processor(params);
  if (in_place_) {
    logits_ = at::empty({rows, V}, cpu_float);
    const at::Tensor& head = model.lm_head_weight();  // (V, H)
    // decode_linear() reads the weight as it is; the BLAS product streams a transposed copy faster.
    const bool decode_product = use_decode_linear(at::empty({rows, head.size(1)}, cpu_float), head);
    if (!decode_product && head.numel() * static_cast<int64_t>(sizeof(float)) <= kTransposedHeadBudgetBytes)
      head_t_ = head.t().contiguous();  // (H, V): one pass over the weight, then every step streams it
  }
  if (params.temperature != 0) {
    probs_ = at::empty({rows, V}, cpu_float);
    noise_ = at::empty({rows, V}, cpu_float);
    race_from_words_ = use_cpu_kernels(noise_) && bulk_draws_match_libtorch();
    winners_.resize(static_cast<size_t>(rows));
  }
  tokens_ = at::empty({rows, 1}, cpu_float.dtype(at::kLong));
}

TokenSampler::~TokenSampler() {
  if (ahead_ && ahead_->taken.exchange(true)) ahead_done_.wait();  // else the pool's task finds it taken
}

void TokenSampler::draw(at::Tensor& race, bool parallel) {
  if (race_from_words_) draw_words(generator_, race.numel(), words_);
  else draw_exponential(race, generator_, words_, parallel);
}

void TokenSampler::draw_into(AheadDraws& job) {
  try {
    draw(job.race, /*parallel=*/false);
    job.done.set_value();
  } catch (...) {
    job.done.set_exception(std::current_exception());
  }
}

void TokenSampler::draw_ahead(int64_t rows) {
  if (params_.temperature == 0) return;
  // With the forward pass on every intra-op thread (wide layers, generation_threads.h) a pool thread would
  // take a core from it at each step; next() then draws on the intra-op threads instead (parallel logs).
  if (at::get_num_threads() > 1) return;
  TORCH_INTERNAL_ASSERT(!ahead_, "draw_ahead() twice without next()");
  ahead_ = std::make_shared<AheadDraws>();
  ahead_->race = noise_.narrow(0, 0, rows);
  ahead_done_ = ahead_->done.get_future();
  // The task holds the job, not the sampler alive: once the job is taken it touches nothing else.
  at::launch([this, job = ahead_] {
    if (!job->taken.exchange(true)) draw_into(*job);
  });
}

at::Tensor TokenSampler::draws(int64_t rows) {
  if (!ahead_) {
    at::Tensor race = noise_.narrow(0, 0, rows);
    draw(race, /*parallel=*/true);
    return race;
  }
  const std::shared_ptr<AheadDraws> job = std::move(ahead_);
  if (!job->taken.exchange(true)) draw_into(*job);  // no pool thread took it yet: draw here
  ahead_done_.get();  // rethrows the draw's error
  TORCH_INTERNAL_ASSERT(job->race.size(0) == rows, "draw_ahead() for ", job->race.size(0), " rows, next() for ", rows);
  return job->race;
}

at::Tensor TokenSampler::scores(const at::Tensor& hidden, const at::Tensor& seen) {
  if (!in_place_) return process_logits(model_.logits(hidden).to(at::kFloat), seen, params_);
  // model.logits() here into the buffer: decode_linear() for a decode step's few rows as model.logits() takes it,
  // else mm(hidden, W^T) from the transposed copy within the budget (the same products, in the BLAS order).
  at::Tensor logits = logits_.narrow(0, 0, hidden.size(0));  // (B, V)
  const at::Tensor& head = model_.lm_head_weight();
  if (use_decode_linear(hidden, head)) decode_linear_out(logits, hidden, head);  // decode_products.h
  else at::mm_out(logits, hidden, head_t_.defined() ? head_t_ : head.t());
  return logits;
}

at::Tensor TokenSampler::next(const at::Tensor& hidden, const at::Tensor& seen) {
  const int64_t B = hidden.size(0);
  const at::Tensor scores = this->scores(hidden, seen);  // (B, V)
  at::Tensor tokens = tokens_.narrow(0, 0, B);             // (B, 1)
  if (params_.temperature == 0) {  // greedy: sample_next_tokens' argmax
    if (scores.is_cpu()) at::argmax_out(tokens, scores, -1, /*keepdim=*/true);
    else tokens.copy_(scores.argmax(-1, /*keepdim=*/true));
    return tokens.squeeze(1);
  }
  // sample_next_tokens: softmax on the scores' device, then at::multinomial(probs, 1) on the CPU, whose
  // one-sample path (LibTorch 1.13, aten/src/ATen/native/Distributions.cpp) is the exponential race
  // argmax(p / q), q ~ Exp(1) drawn over (B, V) in row-major order: the same draws and the same float
  // division here, so a seed gives the tokens multinomial gives (tests/unit/generate_sampler_test.cpp
  // checks it). The draws come in bulk (exponential_draws.h), usually from draw_ahead(), overlapping the
  // forward pass; on the CPU only their words, and exponential_race() computes the logs the winner needs.
  at::Tensor probs = probs_.narrow(0, 0, B);  // (B, V) CPU
  if (scores.is_cpu()) at::_softmax_out(probs, scores, -1, /*half_to_float=*/false);
  else probs.copy_(scores.softmax(-1));
  at::Tensor race = draws(B);  // (B, V) CPU: the draws, or with race_from_words_ scratch and words_ the draws
  const int64_t V = race.size(1);
  int64_t* token = tokens.data_ptr<int64_t>();
  if (race_from_words_) {  // the same winners without most of the logs (exponential_draws.h)
    const float* p = probs.data_ptr<float>();
    float* scratch = race.data_ptr<float>();
    at::parallel_for(0, B, 1, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        std::tie(token[r], winners_[static_cast<size_t>(r)]) =
            exponential_race(p + r * V, words_.data() + 2 * r * V, V, scratch + r * V);
      }
    });
  } else {
    at::div_out(race, probs, race);
    at::argmax_out(tokens, race, -1, /*keepdim=*/true);
    const float* ratio = race.data_ptr<float>();
    for (int64_t r = 0; r < B; ++r) winners_[static_cast<size_t>(r)] = ratio[r * V + token[r]];
  }
  // multinomial refuses a NaN probability; a NaN wins argmax, so checking the winners finds every such row.
  for (int64_t r = 0; r < B; ++r) {
    if (std::isnan(winners_[static_cast<size_t>(r)]))
      throw ModelError("generate", "the next-token probabilities of row " + std::to_string(r) +
                                       " contain NaN (the model's logits are not finite)");
  }
  return tokens.squeeze(1);
}

}  // namespace trl
