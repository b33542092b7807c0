// transformers' logits processors (generation/logits_process.py) and the sampling step
// (trl/sdk/generate/logits_processors.h). Letters: B rows, V vocab.
#include "trl/sdk/generate/logits_processors.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>

#include <ATen/ATen.h>

#include "trl/sdk/error.h"

namespace trl {
namespace {

constexpr double kRemoved = -std::numeric_limits<double>::infinity();

std::string number_text(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

}  // namespace

at::Tensor apply_repetition_penalty(const at::Tensor& scores, const at::Tensor& seen, double penalty) {
  const at::Tensor penalized = at::where(scores < 0, scores * penalty, scores / penalty);
  return at::where(seen, penalized, scores);
}

at::Tensor apply_top_k(const at::Tensor& scores, int64_t top_k) {
  const int64_t k = std::min(std::max<int64_t>(top_k, 1), scores.size(-1));
  const at::Tensor kth = std::get<0>(at::topk(scores, k, -1)).narrow(-1, k - 1, 1);  // (B, 1)
  return scores.masked_fill(scores < kth, kRemoved);
}

at::Tensor apply_top_p(const at::Tensor& scores, double top_p) {
  const auto [sorted, order] = at::sort(scores, -1, /*descending=*/false);
  const at::Tensor cumulative = sorted.softmax(-1).cumsum(-1);  // (B, V) ascending
  at::Tensor remove_sorted = cumulative <= (1 - top_p);
  remove_sorted.narrow(-1, scores.size(-1) - 1, 1).fill_(false);  // min_tokens_to_keep = 1
  return scores.masked_fill(remove_sorted.scatter(-1, order, remove_sorted), kRemoved);
}

at::Tensor apply_min_p(const at::Tensor& scores, double min_p) {
  const at::Tensor probs = scores.softmax(-1);
  const at::Tensor threshold = probs.amax(-1, /*keepdim=*/true) * min_p;  // (B, 1)
  return scores.masked_fill(probs < threshold, kRemoved);
}

void check_sampling_params(const SamplingParams& p) {
  auto fail = [](const std::string& key, const std::string& expected, const std::string& got) {
    throw ConfigError("generate", key, "expected " + expected + ", got " + got);
  };
  if (p.max_new_tokens < 0) fail("max_new_tokens", "an integer >= 0", std::to_string(p.max_new_tokens));
  if (!(p.temperature >= 0) || !std::isfinite(p.temperature))
    fail("temperature", "a number >= 0 (0 = greedy)", number_text(p.temperature));
  if (p.top_k < 0) fail("top_k", "an integer >= 0 (0 = off)", std::to_string(p.top_k));
  if (!(p.top_p > 0 && p.top_p <= 1)) fail("top_p", "a number in (0, 1]", number_text(p.top_p));
  if (!(p.min_p >= 0 && p.min_p <= 1)) fail("min_p", "a number in [0, 1]", number_text(p.min_p));
  if (!(p.repetition_penalty > 0) || !std::isfinite(p.repetition_penalty))
    fail("repetition_penalty", "a number > 0 (1 = off)", number_text(p.repetition_penalty));
}

at::Tensor process_logits(const at::Tensor& scores, const at::Tensor& seen, const SamplingParams& p) {
  at::Tensor out = scores;
  if (p.repetition_penalty != 1.0 && seen.defined()) out = apply_repetition_penalty(out, seen, p.repetition_penalty);
  if (p.temperature == 0) return out;  // greedy: transformers applies no warper without do_sample
  if (p.temperature != 1.0) out = out / p.temperature;
  if (p.top_k > 0) out = apply_top_k(out, p.top_k);
  if (p.top_p < 1.0) out = apply_top_p(out, p.top_p);
  if (p.min_p > 0) out = apply_min_p(out, p.min_p);
  return out;
}

at::Tensor sample_next_tokens(const at::Tensor& scores, const SamplingParams& p, at::Generator& generator) {
  if (p.temperature == 0) return scores.argmax(-1);
  const at::Tensor probs = scores.softmax(-1).to(at::kCPU);  // (B, V)
  return at::multinomial(probs, 1, /*replacement=*/false, generator).squeeze(1).to(scores.device());
}

}  // namespace trl
