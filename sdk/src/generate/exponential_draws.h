// Private to sdk/src/generate: the Exp(1) draws of at::multinomial's one-sample path, in bulk.
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

namespace trl {

/// Fills `out` (contiguous float32 on the CPU) with exactly the values `out.exponential_(1.0,
/// generator)` gives in LibTorch 1.13 on the CPU, and leaves `generator` (a CPU generator) in the same
/// state. That kernel draws one element at a time under a lock, about 15 ns each: at vocabulary 32000 it
/// was nearly all of a tiny-preset generation step. Here the Mersenne Twister's words are drawn a block
/// of 624 at a time into `words` (a workspace kept by the caller, resized as needed) and then turned
/// into the same doubles with the same libm log, about 6 ns per element. tests/unit/generate_sampler_test.cpp
/// compares the two bit for bit, so a LibTorch that changes its kernel fails there.
void draw_exponential(at::Tensor& out, at::Generator& generator, std::vector<uint32_t>& words);

}  // namespace trl
