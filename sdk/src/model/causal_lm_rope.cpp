// Rotary position embeddings as transformers computes them (modeling_rope_utils.py and the models'
// apply_rotary_pos_emb), written with the same float32 operations so the angles agree bit for bit.
#include <cmath>

#include <ATen/ATen.h>

#include "causal_lm_impl.h"
#include "rope_kernel.h"

namespace trl {

at::Tensor rope_inverse_frequencies(const ModelConfig& config) {
  const int64_t D = config.head_dim;
  // _compute_default_rope_parameters: 1 / base ** (arange(0, D, 2) / D), in float32.
  const at::Tensor exponents = at::arange(0, D, 2, at::kLong).to(at::kFloat) / static_cast<double>(D);
  at::Tensor inv_freq = at::pow(at::Scalar(config.rope_theta), exponents).reciprocal();  // (D/2)
  const RopeScaling& s = config.rope_scaling;
  if (s.rope_type == "linear") return inv_freq / s.factor;
  if (s.rope_type != "llama3") return inv_freq;

  // _compute_llama3_parameters: long wavelengths are divided by `factor`, short ones kept, the band
  // between interpolated. Python's `scalar / tensor` is reciprocal(tensor) * scalar, so the same here.
  const double old_context = static_cast<double>(s.original_max_position_embeddings);
  const double low_freq_wavelen = old_context / s.low_freq_factor;
  const double high_freq_wavelen = old_context / s.high_freq_factor;
  const at::Tensor wavelen = inv_freq.reciprocal() * (2 * M_PI);
  at::Tensor scaled = at::where(wavelen > low_freq_wavelen, inv_freq / s.factor, inv_freq);
  const at::Tensor smooth = (wavelen.reciprocal() * old_context - s.low_freq_factor) /
                            (s.high_freq_factor - s.low_freq_factor);
  const at::Tensor smoothed = (1 - smooth) * scaled / s.factor + smooth * scaled;
  const at::Tensor is_medium = (wavelen < high_freq_wavelen).logical_not() & (wavelen > low_freq_wavelen).logical_not();
  return at::where(is_medium, smoothed, scaled);
}

std::pair<at::Tensor, at::Tensor> rope_cos_sin(const at::Tensor& inv_freq, const at::Tensor& positions,
                                               c10::ScalarType dtype) {
  // transformers forms inv_freq @ positions, a matmul with inner size 1: each angle is one float32 product.
  const at::Tensor freqs = positions.to(at::kFloat).unsqueeze(-1) * inv_freq;  // (B, T, D/2)
  const at::Tensor angles = at::cat({freqs, freqs}, -1);                      // (B, T, D)
  return {angles.cos().to(dtype).unsqueeze(2), angles.sin().to(dtype).unsqueeze(2)};  // (B, T, 1, D)
}

at::Tensor apply_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  if (use_rope_kernel(x, cos, sin)) return rope_kernel(x, cos, sin);  // the same values in one pass each way
  const int64_t half = x.size(-1) / 2;
  const at::Tensor rotated = at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
  return x * cos + rotated * sin;  // (B, T, heads, D)
}

}  // namespace trl
