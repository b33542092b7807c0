// generate()'s per-step sampling into preallocated buffers (sdk/src/generate/token_sampler.cpp) and its
// one-thread policy (generation_threads.cpp): the tokens equal those of the public, allocating path
// (model.logits + process_logits + sample_next_tokens, i.e. at::multinomial) for a seed, NaN logits are
// refused, the caller's thread counts come back afterwards, and the bulk exponential draws
// (exponential_draws.cpp) equal LibTorch's exponential_ bit for bit.
#include <gtest/gtest.h>

#include <dlfcn.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <future>
#include <limits>
#include <thread>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/api/include/torch/version.h>

#include "core/kernel_dispatch.h"
#include "generate/exponential_draws.h"
#include "generate/generation_threads.h"
#include "model_test_support.h"
#include "scoped_env.h"
#include "trl/sdk/error.h"
#include "trl/sdk/generate/generator.h"
#include "trl/sdk/generate/logits_processors.h"
#include "trl/sdk/model/causal_lm.h"

namespace {

using trl::CausalLM;
using trl::SamplingParams;
using trl::testing_support::tiny_model_config;

// Equal-length prompts, so the reference below needs no padding: 3 rows of 5 tokens.
const std::vector<std::vector<int64_t>> kPrompts = {{5, 9, 14, 3, 8}, {33, 1, 60, 61, 2}, {7, 7, 8, 60, 11}};

/// The allocating path generate() took before its buffers: the whole sequence recomputed each step,
/// model.logits(), process_logits(), sample_next_tokens() (at::multinomial). (B, N) completions.
std::vector<std::vector<int64_t>> reference_tokens(const CausalLM& model, const SamplingParams& params) {
  c10::InferenceMode inference;
  std::vector<at::Tensor> rows;
  for (const auto& p : kPrompts) rows.push_back(at::tensor(p, at::kLong));
  at::Tensor ids = at::stack(rows);  // (B, P)
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(params.seed);
  std::vector<std::vector<int64_t>> out(kPrompts.size());
  for (int64_t step = 0; step < params.max_new_tokens; ++step) {
    const at::Tensor hidden = model.hidden_states(ids).select(1, ids.size(1) - 1);  // (B, H)
    const at::Tensor scores = trl::process_logits(model.logits(hidden).to(at::kFloat), {}, params);
    const at::Tensor next = trl::sample_next_tokens(scores, params, generator).contiguous();  // (B)
    for (size_t r = 0; r < out.size(); ++r) out[r].push_back(next[static_cast<int64_t>(r)].item<int64_t>());
    ids = at::cat({ids, next.unsqueeze(1)}, 1);
  }
  return out;
}

class GenerateSampler : public ::testing::Test {
 protected:
  void SetUp() override {
    at::set_num_threads(1);
    // A vocabulary of 300 and large weights: peaked but not one-hot distributions, so a changed draw or
    // a changed division shows up as a different token within a few steps.
    model_ = CausalLM::from_config(tiny_model_config("qwen2", {{"initializer_range", 0.5}, {"vocab_size", 300}}), 4);
  }
  std::unique_ptr<CausalLM> model_;
};

TEST_F(GenerateSampler, SampledTokensEqualMultinomialForEverySeed) {
  SamplingParams params;  // temperature 1, no processor: the buffered path
  params.max_new_tokens = 24;
  size_t differing_seeds = 0;
  std::vector<std::vector<int64_t>> first;
  for (uint64_t seed = 0; seed < 4; ++seed) {
    params.seed = seed;
    const auto expected = reference_tokens(*model_, params);
    EXPECT_EQ(trl::generate(*model_, kPrompts, params).completion_ids, expected) << "seed " << seed;
    if (seed == 0) first = expected;
    else differing_seeds += expected != first;
  }
  EXPECT_EQ(differing_seeds, 3u) << "the seeds must give different tokens, or equality proves little";
}

TEST_F(GenerateSampler, GreedyAndProcessedTokensEqualTheAllocatingPath) {
  SamplingParams params;
  params.max_new_tokens = 16;
  params.temperature = 0;
  EXPECT_EQ(trl::generate(*model_, kPrompts, params).completion_ids, reference_tokens(*model_, params));
  params.temperature = 0.7;  // processors active: the scores are not written in place
  params.top_k = 40;
  params.top_p = 0.9;
  params.seed = 11;
  EXPECT_EQ(trl::generate(*model_, kPrompts, params).completion_ids, reference_tokens(*model_, params));
}

TEST_F(GenerateSampler, RefusesNaNLogitsNamingTheRow) {
  model_->set_requires_grad(false);
  {
    c10::InferenceMode inference;
    for (auto& [name, weight] : model_->named_parameters())
      if (name == "model.norm.weight") weight.fill_(std::numeric_limits<float>::quiet_NaN());
  }
  SamplingParams params;
  params.max_new_tokens = 3;
  try {
    trl::generate(*model_, kPrompts, params);
    FAIL() << "NaN logits were sampled from";
  } catch (const trl::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("NaN"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("row 0"), std::string::npos) << e.what();
  }
}

TEST_F(GenerateSampler, RestoresTheCallersThreadCounts) {
  using GetThreads = int (*)();
  using SetThreads = void (*)(int);
  const auto blas_get = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  const auto blas_set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  const int blas_before = blas_get != nullptr ? blas_get() : 0;
  if (blas_set != nullptr) blas_set(2);
  at::set_num_threads(2);
  SamplingParams params;
  params.max_new_tokens = 4;
  const auto two_threads = trl::generate(*model_, kPrompts, params);
  EXPECT_EQ(at::get_num_threads(), 2);
  if (blas_get != nullptr) {
    EXPECT_EQ(blas_get(), 2);
  }
  at::set_num_threads(1);
  if (blas_set != nullptr) blas_set(blas_before);
  // The thread count changes nothing in the result.
  EXPECT_EQ(trl::generate(*model_, kPrompts, params).completion_ids, two_threads.completion_ids);
}

// The thread policy by layer size (generation_threads.h): the two bench models on each side of the line.
TEST(GenerationThreads, OneThreadOnlyForSmallLayers) {
  trl::ModelConfig small;
  small.hidden_size = 256;
  small.intermediate_size = 688;
  trl::ModelConfig large = small;
  large.hidden_size = 512;
  large.intermediate_size = 1376;
  EXPECT_TRUE(trl::one_thread_generation(small, /*workers_sleep=*/true));
  EXPECT_FALSE(trl::one_thread_generation(large, /*workers_sleep=*/true));
  // With spinning workers a hand-off is cheap: every model decodes on every thread.
  EXPECT_FALSE(trl::one_thread_generation(small, /*workers_sleep=*/false));
  EXPECT_FALSE(trl::one_thread_generation(large, /*workers_sleep=*/false));
}

// openmp_workers_sleep() reads the environment as libgomp does (GOMP_SPINCOUNT first).
TEST(GenerationThreads, WorkersSleepAsLibgompReadsTheEnvironment) {
  test_support::ScopedEnv policy("OMP_WAIT_POLICY", nullptr);
  test_support::ScopedEnv count("GOMP_SPINCOUNT", nullptr);
  EXPECT_FALSE(trl::openmp_workers_sleep()) << "libgomp's default spins";
  setenv("OMP_WAIT_POLICY", "passive", 1);
  EXPECT_TRUE(trl::openmp_workers_sleep());
  setenv("OMP_WAIT_POLICY", "ACTIVE", 1);
  EXPECT_FALSE(trl::openmp_workers_sleep());
  setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  setenv("GOMP_SPINCOUNT", "1000", 1);
  EXPECT_FALSE(trl::openmp_workers_sleep()) << "a spin count wins over the policy";
  setenv("GOMP_SPINCOUNT", "0", 1);
  EXPECT_TRUE(trl::openmp_workers_sleep());
}

// A model whose MLP matrices are past the line decodes on the caller's two threads (and leaves them so):
// the same tokens as the allocating reference path.
TEST(GenerationThreads, WideLayersDecodeOnEveryThreadWithTheSameTokens) {
  const auto model = CausalLM::from_config(
      tiny_model_config("qwen2", {{"initializer_range", 0.5}, {"vocab_size", 300}, {"intermediate_size", 16384}}), 4);
  ASSERT_FALSE(trl::one_thread_generation(model->config())) << "the model must be past the line";
  at::set_num_threads(2);
  SamplingParams params;
  params.max_new_tokens = 12;
  params.seed = 5;
  EXPECT_EQ(trl::generate(*model, kPrompts, params).completion_ids, reference_tokens(*model, params));
  EXPECT_EQ(at::get_num_threads(), 2);
  at::set_num_threads(1);
}

// Every inter-op thread busy in its own generate(): no thread is free for the draws each one hands to
// the pool (draw_ahead), so each must draw them itself, or it would wait forever. Same tokens as alone.
TEST_F(GenerateSampler, DrawsItselfWhenNoPoolThreadIsFree) {
  SamplingParams params;
  params.max_new_tokens = 6;
  const auto alone = trl::generate(*model_, kPrompts, params).completion_ids;
  const int threads = at::get_num_interop_threads();
  std::atomic<int> inside{0};
  std::vector<std::promise<std::vector<std::vector<int64_t>>>> results(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i) {
    at::launch([&, i] {
      ++inside;
      while (inside.load() < threads) std::this_thread::yield();  // every pool thread is taken
      results[static_cast<size_t>(i)].set_value(trl::generate(*model_, kPrompts, params).completion_ids);
    });
  }
  for (auto& result : results) {
    std::future<std::vector<std::vector<int64_t>>> done = result.get_future();
    ASSERT_EQ(done.wait_for(std::chrono::seconds(60)), std::future_status::ready) << "generate() waits for the pool";
    EXPECT_EQ(done.get(), alone);
  }
}

// Sizes around the engine's 624-word blocks (2 words per draw), in one stream of calls: the values, and
// the generator's state after them (the next rand draw), equal those of exponential_ on a twin generator.
TEST(ExponentialDraws, EqualLibTorchsKernelBitForBit) {
  at::Generator ours = at::make_generator<at::CPUGeneratorImpl>(123);
  at::Generator theirs = at::make_generator<at::CPUGeneratorImpl>(123);
  std::vector<uint32_t> words;
  for (int64_t n : {1, 311, 312, 313, 624, 1000, 100003, 7}) {
    at::Tensor got = at::empty({n}, at::kFloat);
    trl::draw_exponential(got, ours, words);
    const at::Tensor expected = at::empty({n}, at::kFloat).exponential_(1.0, theirs);
    ASSERT_TRUE(at::equal(got, expected)) << "n = " << n;
  }
  EXPECT_TRUE(at::equal(at::rand({5}, ours), at::rand({5}, theirs)));
  at::Tensor wrong = at::empty({4}, at::kDouble);
  EXPECT_THROW(trl::draw_exponential(wrong, ours, words), c10::Error);
}

// The logs on two intra-op threads (what next() does when the forward runs on every thread) give the same
// values as exponential_, across the tasks' boundaries, and leave the generator where it leaves it.
TEST(ExponentialDraws, ParallelTransformEqualsLibTorchsKernel) {
  at::set_num_threads(2);
  at::Generator ours = at::make_generator<at::CPUGeneratorImpl>(77);
  at::Generator theirs = at::make_generator<at::CPUGeneratorImpl>(77);
  std::vector<uint32_t> words;
  for (int64_t n : {5, 8192, 8193, 256000}) {
    at::Tensor got = at::empty({n}, at::kFloat);
    trl::draw_exponential(got, ours, words, /*parallel=*/true);
    ASSERT_TRUE(at::equal(got, at::empty({n}, at::kFloat).exponential_(1.0, theirs))) << "n = " << n;
  }
  EXPECT_TRUE(at::equal(at::rand({5}, ours), at::rand({5}, theirs)));
  at::set_num_threads(1);
}

// The device-generic path (exponential_ itself: what a CUDA tensor takes, core/kernel_dispatch.h), forced on
// the CPU, and the bulk path give the same values from twin generators; which path the CPU takes by default
// is decided by comparing the two once.
TEST(ExponentialDraws, GenericPathGivesTheSameValues) {
  at::Generator bulk = at::make_generator<at::CPUGeneratorImpl>(9);
  at::Generator generic = at::make_generator<at::CPUGeneratorImpl>(9);
  std::vector<uint32_t> words;
  at::Tensor a = at::empty({5000}, at::kFloat), b = at::empty({5000}, at::kFloat);
  trl::draw_exponential(a, bulk, words);
  {
    const trl::ScopedGenericKernels force;
    trl::draw_exponential(b, generic, words);
  }
  EXPECT_TRUE(at::equal(a, b));
  EXPECT_TRUE(at::equal(at::rand({3}, bulk), at::rand({3}, generic))) << "the generators end in the same state";
  // LibTorch 1.13 and 2.15 (the wheel of tests/parity/requirements-trl.txt) both draw as the bulk path does;
  // a release that does not still samples correctly (through exponential_), only slower, and fails here.
  EXPECT_TRUE(trl::bulk_draws_match_libtorch()) << "LibTorch " << TORCH_VERSION << " changed its CPU exponential_";
}

// exponential_race() picks what argmax(p / exponential_()) picks from twin generators, with the same ratio:
// flat to peaked rows of a 32000 vocabulary (flat rows leave many indices near the winner), rows with zeros.
TEST(ExponentialRace, WinnerEqualsArgmaxOfTheDividedDraws) {
  const int64_t V = 32000;
  at::Generator ours = at::make_generator<at::CPUGeneratorImpl>(31);
  at::Generator theirs = at::make_generator<at::CPUGeneratorImpl>(31);
  at::Generator logits = at::make_generator<at::CPUGeneratorImpl>(5);
  std::vector<uint32_t> words;
  std::vector<float> bounds(V);
  int64_t rows = 0;
  for (double spread : {0.01, 0.5, 2.0, 8.0, 30.0}) {
    for (int repeat = 0; repeat < 8; ++repeat, ++rows) {
      at::Tensor p = at::softmax(at::randn({V}, logits) * spread, 0);
      if (repeat % 2 == 1) p.masked_fill_(at::rand({V}, logits) < 0.5, 0.0f);  // zeros, not renormalised
      trl::draw_words(ours, V, words);
      const at::Tensor ratio = p / at::empty({V}, at::kFloat).exponential_(1.0, theirs);
      const auto [index, winner] = trl::exponential_race(p.data_ptr<float>(), words.data(), V, bounds.data());
      ASSERT_EQ(index, ratio.argmax().item<int64_t>()) << "spread " << spread << ", row " << repeat;
      EXPECT_EQ(winner, ratio[index].item<float>());
    }
  }
  EXPECT_TRUE(at::equal(at::rand({5}, ours), at::rand({5}, theirs))) << "the generators end in the same state";
  EXPECT_EQ(rows, 40);
}

// Hand-made draws: equal ratios go to the first index; a zero draw (x = 0: q = -1.0 * log(1.0) = -0.0, so the
// ratio is -inf) loses, or wins as NaN beside p = 0; a NaN probability wins with NaN, as argmax over the divided
// row decides (computed here the same way).
TEST(ExponentialRace, TiesZeroDrawsAndNaNAsArgmax) {
  auto uniform_words = [](uint64_t mantissa) {  // the two words whose uniform is mantissa * 2^-53
    return std::pair<uint32_t, uint32_t>{static_cast<uint32_t>(mantissa >> 32), static_cast<uint32_t>(mantissa)};
  };
  auto race = [&](std::vector<float> p, const std::vector<uint64_t>& mantissas) {
    std::vector<uint32_t> words;
    std::vector<float> q;
    for (uint64_t m : mantissas) {
      const auto [high, low] = uniform_words(m);
      words.push_back(high);
      words.push_back(low);
      const double x = static_cast<double>(m) / static_cast<double>(uint64_t{1} << 53);
      q.push_back(static_cast<float>(-std::log(1.0 - x)));
    }
    const auto n = static_cast<int64_t>(p.size());
    std::vector<float> bounds(p.size());
    const auto got = trl::exponential_race(p.data(), words.data(), n, bounds.data());
    const at::Tensor ratio = at::tensor(p, at::kFloat) / at::tensor(q, at::kFloat);
    const int64_t expected = ratio.argmax().item<int64_t>();
    EXPECT_EQ(got.first, expected);
    const float expected_ratio = ratio[expected].item<float>();
    if (std::isnan(expected_ratio)) EXPECT_TRUE(std::isnan(got.second));
    else EXPECT_EQ(got.second, expected_ratio);
    return got.first;
  };
  const uint64_t half = uint64_t{1} << 52;
  EXPECT_EQ(race({0.1f, 0.3f, 0.3f, 0.1f, 0.2f, 0.0f}, {half, half, half, half, half, half}), 1) << "first of a tie";
  EXPECT_EQ(race({0.1f, 0.3f, 0.3f, 0.9f, 0.2f, 0.0f}, {half, half, half, 0, half, half}), 1) << "x = 0 loses";
  EXPECT_EQ(race({0.1f, 0.3f, 0.3f, 0.9f, 0.2f, 0.0f}, {half, half, half, half, half, 0}), 5) << "0 / -0.0 is NaN";
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(race({0.1f, 0.3f, nan, 0.1f, nan, 0.0f}, {half, 7, half, half, half, half}), 2) << "the first NaN wins";
  EXPECT_EQ(race({0.0f, 0.0f, 0.0f}, {half, 3, half}), 0) << "all ratios zero";
  EXPECT_EQ(race({0.5f, 0.5f}, {(uint64_t{1} << 53) - 1, 1}), 1) << "the largest and smallest uniforms";
}

}  // namespace
