// Private to the SDK's sources: the products of a decode step (a few rows against a whole weight matrix),
// by a register-blocked AVX2/FMA kernel that reads each weight row once for all rows of the input
// (decode_products.cpp says why and what was measured).
// Letters: M rows of the input, K its width, N the weight's rows (outputs).
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace trl {

/// Inputs with more rows than this take LibTorch's product: the BLAS kernels win once the weight's
/// re-packing is spread over enough rows (decode_products.cpp).
constexpr int64_t kDecodeProductMaxRows = 16;

/// Whether the kernel is preferred to LibTorch's product on this machine: not where LibTorch's BLAS is MKL and
/// the CPU is Intel's (MKL's few-row products were faster there; measured in decode_products.cpp).
bool decode_products_preferred();

/// Whether decode_linear() can compute y = x·weightᵀ: the CPU has AVX2 and FMA, x is a float32 CPU tensor with
/// at most kDecodeProductMaxRows rows (all dims but the last), weight a contiguous float32 (N, K) CPU matrix.
bool decode_linear_accepts(const at::Tensor& x, const at::Tensor& weight);

/// Whether the model's products take decode_linear(): decode_products_preferred(), trl-host's CPU kernels are on
/// (kernel_dispatch.h), grad mode is off, autocast is not active, and decode_linear_accepts().
bool use_decode_linear(const at::Tensor& x, const at::Tensor& weight);

/// at::linear(x, weight, bias) for use_decode_linear() inputs: x (..., K), weight (N, K), bias (N) or undefined;
/// returns (..., N). Each output is one sequential fused multiply-add chain per 8-lane vector plus a fixed
/// reduction tree, so it may differ from the BLAS result in the last bits, and does not depend on the thread
/// count or on which rows share a call.
at::Tensor decode_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias = {});

/// decode_linear() without bias into `out` (M, N) float32 with a contiguous last dim (a row stride of its own),
/// for x (M, K). Both refuse (c10::Error) inputs that decode_linear_accepts() does not, and tensors that autograd
/// would record.
void decode_linear_out(at::Tensor& out, const at::Tensor& x, const at::Tensor& weight);

}  // namespace trl
