// Private to the SDK's sources: the products of a decode step (a few rows against a whole weight matrix),
// by a register-blocked AVX2/FMA kernel (AVX-512 where the CPU has it) that reads each weight row once for all
// rows of the input (decode_products.cpp says why and what was measured).
// Letters: M rows of the input, K its width, N the weight's rows (outputs).
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

namespace trl {

/// Inputs with more rows than this take LibTorch's product: the BLAS kernels win once the weight's
/// re-packing is spread over enough rows (decode_products.cpp).
constexpr int64_t kDecodeProductMaxRows = 16;

/// Weight rows per register block of the path the kernel takes now: 3 (AVX2) or 6 (AVX-512).
int64_t decode_products_block_rows();

/// Weight blocks one task takes at least in a product of width K (at::parallel_for's grain): a product with more
/// blocks is spread over the intra-op threads, a smaller one stays on the calling thread.
int64_t decode_products_blocks_per_task(int64_t K);

/// While alive, the kernel takes its AVX2 path even where the CPU has AVX-512, so that tests check both paths'
/// numbers on one machine. Not for concurrent use with products in other threads.
class ScopedDecodeProductsAvx2 {
 public:
  ScopedDecodeProductsAvx2();
  ~ScopedDecodeProductsAvx2();
  ScopedDecodeProductsAvx2(const ScopedDecodeProductsAvx2&) = delete;
  ScopedDecodeProductsAvx2& operator=(const ScopedDecodeProductsAvx2&) = delete;

 private:
  bool previous_;
};

/// Whether decode_linear() can compute y = x·weightᵀ: the CPU has AVX2 and FMA, x is a float32 CPU tensor with
/// at most kDecodeProductMaxRows rows (all dims but the last), weight a contiguous float32 (N, K) CPU matrix.
bool decode_linear_accepts(const at::Tensor& x, const at::Tensor& weight);

/// Whether the model's products take decode_linear(): trl-host's CPU kernels are on (kernel_dispatch.h), grad mode
/// is off, autocast is not active, and decode_linear_accepts(). Wherever the kernel runs it is taken: it was faster
/// than MKL and OpenBLAS on every machine measured (decode_products.cpp).
bool use_decode_linear(const at::Tensor& x, const at::Tensor& weight);

/// at::linear(x, weight, bias) for use_decode_linear() inputs: x (..., K), weight (N, K), bias (N) or undefined;
/// returns (..., N). Each output is one sequential fused multiply-add chain per 8-lane (AVX2) or 16-lane
/// (AVX-512) vector plus a fixed reduction tree, so it may differ from the BLAS result in the last bits, and does
/// not depend on the thread count or on which rows share a call.
at::Tensor decode_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias = {});

/// decode_linear() of one input against several weights (a layer's q/k/v, or gate/up), each with its bias or an
/// undefined tensor (`biases` empty: none), in one parallel region: the outputs equal one decode_linear() call per
/// weight to the bit, with one hand-off to the intra-op threads instead of one per product (each wakes a worker).
std::vector<at::Tensor> decode_linear_many(const at::Tensor& x, at::TensorList weights, at::TensorList biases = {});

/// decode_linear() without bias into `out` (M, N) float32 with a contiguous last dim (a row stride of its own),
/// for x (M, K). Both refuse (c10::Error) inputs that decode_linear_accepts() does not, and tensors that autograd
/// would record.
void decode_linear_out(at::Tensor& out, const at::Tensor& x, const at::Tensor& weight);

}  // namespace trl
