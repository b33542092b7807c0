// Private to sdk/src/generate: the Exp(1) draws of at::multinomial's one-sample path, in bulk.
#pragma once

#include <cstdint>
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

}  // namespace trl
