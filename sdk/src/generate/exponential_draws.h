// Private to sdk/src/generate: the Exp(1) draws of at::multinomial's one-sample path, in bulk.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

namespace trl {

/// Fills `out` (contiguous float32) with exactly the values `out.exponential_(1.0, generator)` gives,
/// and leaves `generator` in the same state. On the CPU, with LibTorch 1.13's kernel, that kernel draws
/// one element at a time under a lock, about 15 ns each: at vocabulary 32000 it was nearly all of a
/// tiny-preset generation step. Here the Mersenne Twister's words are drawn a block of 624 at a time into
/// `words` (a workspace kept by the caller, resized as needed) and then turned into the same doubles with
/// the same libm log, about 6 ns per element. On another device (core/kernel_dispatch.h), or with a
/// LibTorch whose CPU kernel is not 1.13's (bulk_draws_match_libtorch), it calls exponential_ itself.
/// With `parallel`, the logs run on ATen's intra-op threads (the same values; the caller must be the thread
/// that owns those threads, not a pool thread beside their work). tests/unit/generate_sampler_test.cpp
/// compares the paths with exponential_ bit for bit.
void draw_exponential(at::Tensor& out, at::Generator& generator, std::vector<uint32_t>& words,
                      bool parallel = false);

/// Whether the bulk path gives this LibTorch's exponential_ values (checked once, on twin generators).
bool bulk_draws_match_libtorch();

/// The generator's next 2·n words into `words` (resized), the ones `exponential_()` over n elements consumes
/// (the bulk path's engine, without the transformation): exponential_race() turns them into the race's winner.
/// Leaves `generator` as draw_exponential over n elements would. CPU generators only.
void draw_words(at::Generator& generator, int64_t n, std::vector<uint32_t>& words);

/// The winner of at::multinomial's one-sample race in one row, from its probabilities p (V floats) and the
/// words of its V Exp(1) draws (draw_words): the first index of the largest float(p_i / q_i), NaN above
/// everything, with q_i the value draw_exponential gives from words 2i and 2i + 1, i.e. exactly what
/// argmax(p / exponential_()) returns. Why: at vocabulary 32000 the draws' double-precision logs were a
/// quarter of a small-preset decode step's CPU time in `perf`, yet only the few indices that can win need
/// them. Since -log(1 - x) >= x, p_i / x_i bounds each ratio from above; one pass computes those bounds into
/// `bounds` (V floats of scratch), the exact ratio of the largest bound gives a lower bound on the winner's,
/// and only the indices whose bound (widened by 1e-5 for float rounding, ~5e-7 needed) reaches it get the log.
/// Returns the index and its ratio (NaN when the row has a NaN probability).
std::pair<int64_t, float> exponential_race(const float* p, const uint32_t* words, int64_t V, float* bounds);

}  // namespace trl
