// Bulk Exp(1) draws equal to LibTorch 1.13's CPU exponential_ kernel (exponential_draws.h). That kernel
// (aten/src/ATen/native/cpu/DistributionTemplates.h) computes, per element in memory order,
//   u = CPUGeneratorImpl::random64()               two engine words, the first one high
//   x = (u & (2^53 - 1)) * 2^-53                   at::uniform_real_distribution<double>(0, 1)
//   q = -1.0 / lambda * log(1.0 - x)               at::transformation::exponential<double>
// and stores float(q). The engine is at::mt19937 (ATen/core/MT19937RNGEngine.h), reproduced here in
// blocks: next_state() twists all 624 words, then each output word is tempered.
#include "exponential_draws.h"

#include <algorithm>
#include <cmath>
#include <mutex>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/core/MT19937RNGEngine.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/equal.h>

#include "core/kernel_dispatch.h"
#include "core/vector_clones.h"

namespace trl {
namespace {

constexpr int kN = at::MERSENNE_STATE_N;  // 624 words of state
constexpr int kM = at::MERSENNE_STATE_M;  // 397

inline uint32_t twist(uint32_t u, uint32_t v) {
  return (((u & at::UMASK) | (v & at::LMASK)) >> 1) ^ ((v & 1u) != 0 ? at::MATRIX_A : 0u);
}

/// at::mt19937's next_state(), as indexed loops the compiler can vectorise.
void next_state(uint32_t* p) {
  for (int i = 0; i < kN - kM; ++i) p[i] = p[i + kM] ^ twist(p[i], p[i + 1]);
  for (int i = kN - kM; i < kN - 1; ++i) p[i] = p[i + kM - kN] ^ twist(p[i], p[i + 1]);
  p[kN - 1] = p[kM - 1] ^ twist(p[kN - 1], p[0]);
}

/// The next `count` words of the engine whose state is `data`, as at::mt19937::operator() returns
/// them one by one. There, `left_` counts down to the call that twists: after a twist and k outputs,
/// left_ = 625 - k and next_ = k.
void engine_words(at::mt19937_data_pod& data, uint32_t* out, int64_t count) {
  while (count > 0) {
    if (data.left_ == 1) {
      next_state(data.state_.data());
      data.left_ = kN + 1;
      data.next_ = 0;
    }
    const int64_t k = std::min<int64_t>(count, data.left_ - 1);
    const uint32_t* state = data.state_.data() + data.next_;
    for (int64_t i = 0; i < k; ++i) {
      uint32_t y = state[i];
      y ^= (y >> 11);
      y ^= (y << 7) & 0x9d2c5680u;
      y ^= (y << 15) & 0xefc60000u;
      y ^= (y >> 18);
      out[i] = y;
    }
    out += k;
    count -= k;
    data.left_ -= static_cast<int>(k);
    data.next_ += static_cast<uint32_t>(k);
  }
}

/// Draws per task when the transformation runs on the intra-op threads (about 50 µs of log each).
constexpr int64_t kParallelGrain = 8192;

/// 1.13's Exp(1) value from one draw's two words (high word first).
inline float exponential_value(const uint32_t* w) {
  constexpr uint64_t kMantissa = (uint64_t{1} << 53) - 1;
  constexpr double kScale = 1.0 / static_cast<double>(uint64_t{1} << 53);
  const uint64_t u = (static_cast<uint64_t>(w[0]) << 32) | w[1];
  const double x = static_cast<double>(u & kMantissa) * kScale;
  return static_cast<float>(-1.0 / 1.0 * std::log(1.0 - x));
}

/// p_i / x_i for the V draws of a row: an upper bound on p_i / q_i up to float rounding (q = -log(1 - x) >= x).
/// x_i is the draw's uniform from its top 45 mantissa bits (the high word's 21 and the low word's top 24, each
/// converted exactly from int32): never above the true x by more than float rounding (2^-24), so the bound
/// holds; leaving out bits only raises it.
TRL_VECTOR_CLONES void race_bounds(const float* __restrict p, const uint32_t* __restrict w, int64_t V,
                                   float* __restrict bounds) {
  for (int64_t i = 0; i < V; ++i) {
    const float x = static_cast<float>(static_cast<int32_t>(w[2 * i] & 0x1FFFFFu)) * 0x1p-21f +
                    static_cast<float>(static_cast<int32_t>(w[2 * i + 1] >> 8)) * 0x1p-45f;
    bounds[i] = p[i] / x;
  }
}

/// The bulk path: the engine's words in blocks (one sequence, so on this thread), then 1.13's transformation
/// of each pair, an independent log per element (on the intra-op threads when `parallel`).
void bulk_draws(at::Tensor& out, at::Generator& generator, std::vector<uint32_t>& words, bool parallel) {
  const int64_t n = out.numel();
  draw_words(generator, n, words);
  float* q = out.data_ptr<float>();
  const uint32_t* w = words.data();
  auto transform = [q, w](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) q[i] = exponential_value(w + 2 * i);
  };
  if (parallel) at::parallel_for(0, n, kParallelGrain, transform);
  else transform(0, n);
}

}  // namespace

void draw_words(at::Generator& generator, int64_t n, std::vector<uint32_t>& words) {
  words.resize(static_cast<size_t>(2 * n));
  auto* cpu = at::check_generator<at::CPUGeneratorImpl>(generator);
  std::lock_guard<std::mutex> lock(generator.mutex());
  at::mt19937 engine = cpu->engine();
  at::mt19937_data_pod data = engine.data();
  engine_words(data, words.data(), 2 * n);
  engine.set_data(data);
  cpu->set_engine(engine);
}

std::pair<int64_t, float> exponential_race(const float* p, const uint32_t* words, int64_t V, float* bounds) {
  race_bounds(p, words, V, bounds);
  // A lower bound on the winner's ratio: the exact ratio at the largest bound (NaN bounds are skipped here and
  // always stay in the race below).
  int64_t lead = 0;
  for (int64_t i = 1; i < V; ++i)
    if (bounds[i] > bounds[lead] || std::isnan(bounds[lead])) lead = i;
  const float floor = p[lead] / exponential_value(words + 2 * lead);
  // Exact ratios where the bound reaches the floor, in index order: the first largest wins, NaN above all,
  // as argmax. Any other index has a ratio below the floor, so it can neither win nor tie.
  int64_t best = -1;
  float best_ratio = 0;
  for (int64_t i = 0; i < V; ++i) {
    if (bounds[i] * 1.00001f + 1e-30f < floor) continue;  // false for a NaN bound
    const float ratio = p[i] / exponential_value(words + 2 * i);
    if (best < 0 || ratio > best_ratio || (std::isnan(ratio) && !std::isnan(best_ratio))) {
      best = i;
      best_ratio = ratio;
    }
  }
  return {best, best_ratio};
}

bool bulk_draws_match_libtorch() {
  // Checked once on 1000 draws (past the 624-word block) from twin generators: every LibTorch release whose
  // CPU kernel is 1.13's takes the bulk path, any other (a vectorised kernel in a later release) its own.
  static const bool same = [] {
    at::Generator ours = at::make_generator<at::CPUGeneratorImpl>(20240611);
    at::Generator theirs = at::make_generator<at::CPUGeneratorImpl>(20240611);
    std::vector<uint32_t> words;
    at::Tensor got = at::empty({1000}, at::kFloat);
    bulk_draws(got, ours, words, /*parallel=*/false);
    const at::Tensor expected = at::empty({1000}, at::kFloat).exponential_(1.0, theirs);
    return at::equal(got, expected);
  }();
  return same;
}

void draw_exponential(at::Tensor& out, at::Generator& generator, std::vector<uint32_t>& words, bool parallel) {
  TORCH_CHECK(out.scalar_type() == at::kFloat && out.is_contiguous(),
              "draw_exponential: expected a contiguous float32 tensor");
  if (use_cpu_kernels(out) && bulk_draws_match_libtorch()) {
    bulk_draws(out, generator, words, parallel);
  } else {
    out.exponential_(1.0, generator);  // LibTorch's own kernel, on any device
  }
}

}  // namespace trl
