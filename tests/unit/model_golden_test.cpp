// The causal LM against an independent float32 reference of transformers' forward pass and sampling
// (tests/golden/make_model_golden.py): logits, next-token log-probs, greedy and seeded sampled
// continuations, for Qwen2 (biases, F32), Llama (llama3 RoPE, untied, F16), Qwen3 (q/k norm, head_dim 16,
// tied, BF16) and Mistral (linear RoPE). Tolerance from the golden file: 1e-4 absolute + 1e-4 relative.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include "model_test_support.h"
#include "trl/sdk/generate/generator.h"
#include "trl/sdk/model/causal_lm.h"
#include "trl/sdk/model/token_stats.h"

namespace {

using trl::testing_support::golden_model_dir;
using trl::testing_support::json_tensor;
using trl::testing_support::model_golden;

class ModelGolden : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { at::set_num_threads(1); }
  const nlohmann::json& golden() const { return model_golden()["models"][GetParam()]; }
  double rtol() const { return model_golden()["tolerance"]["rtol"].get<double>(); }
  double atol() const { return model_golden()["tolerance"]["atol"].get<double>(); }
};

TEST_P(ModelGolden, LogitsMatchReferenceAtRealTokens) {
  auto model = trl::CausalLM::from_pretrained(golden_model_dir(GetParam()));
  const at::Tensor ids = json_tensor(golden()["input_ids"], at::kLong);
  const at::Tensor mask = json_tensor(golden()["attention_mask"], at::kLong);
  const at::Tensor expected = json_tensor(golden()["logits"], at::kFloat);  // (B, T, V)
  c10::InferenceMode guard;
  const at::Tensor logits = model->logits(model->hidden_states(ids, mask));
  const at::Tensor real = mask.to(at::kBool);
  const at::Tensor ours = logits.index({real}), theirs = expected.index({real});  // (real tokens, V)
  EXPECT_TRUE(at::allclose(ours, theirs, rtol(), atol()))
      << GetParam() << ": max |diff| " << (ours - theirs).abs().max().item<float>();
}

TEST_P(ModelGolden, TokenLogpsMatchReference) {
  auto model = trl::CausalLM::from_pretrained(golden_model_dir(GetParam()));
  const at::Tensor ids = json_tensor(golden()["input_ids"], at::kLong);
  const at::Tensor mask = json_tensor(golden()["attention_mask"], at::kLong);
  const at::Tensor expected = json_tensor(golden()["logps"], at::kFloat);  // (B, T-1)
  const int64_t T = ids.size(1);
  // labels[t] = ids[t+1] where both are real, else -100 (the trainers' shifted completion labels)
  at::Tensor labels = at::full_like(ids, trl::kIgnoreIndex);
  const at::Tensor both_real = mask.narrow(1, 1, T - 1).to(at::kBool) & mask.narrow(1, 0, T - 1).to(at::kBool);
  labels.narrow(1, 0, T - 1).copy_(ids.narrow(1, 1, T - 1).masked_fill(both_real.logical_not(), trl::kIgnoreIndex));
  const trl::TokenStats stats = trl::token_stats(*model, model->hidden_states(ids, mask), labels);
  const at::Tensor ours = stats.logps.narrow(1, 0, T - 1).index({both_real});
  const at::Tensor theirs = expected.index({both_real});
  EXPECT_TRUE(at::allclose(ours, theirs, rtol(), atol()))
      << GetParam() << ": max |diff| " << (ours - theirs).abs().max().item<float>();
}

TEST_P(ModelGolden, GreedyContinuationMatchesReference) {
  auto model = trl::CausalLM::from_pretrained(golden_model_dir(GetParam()));
  trl::SamplingParams params;
  params.temperature = 0;
  params.max_new_tokens = static_cast<int64_t>(golden()["greedy"].size());
  const auto prompt = golden()["prompt"].get<std::vector<int64_t>>();
  const trl::GenerationResult result = trl::generate(*model, {prompt}, params);
  EXPECT_EQ(result.completion_ids[0], golden()["greedy"].get<std::vector<int64_t>>());
}

TEST_P(ModelGolden, SampledContinuationMatchesReference) {
  auto model = trl::CausalLM::from_pretrained(golden_model_dir(GetParam()));
  const nlohmann::json& s = model_golden()["sampling"];
  trl::SamplingParams params;
  params.temperature = s["temperature"];
  params.top_k = s["top_k"];
  params.top_p = s["top_p"];
  params.min_p = s["min_p"];
  params.repetition_penalty = s["repetition_penalty"];
  params.seed = s["seed"];
  params.max_new_tokens = static_cast<int64_t>(golden()["sampled"].size());
  const auto prompt = golden()["prompt"].get<std::vector<int64_t>>();
  const trl::GenerationResult result = trl::generate(*model, {prompt}, params);
  EXPECT_EQ(result.completion_ids[0], golden()["sampled"].get<std::vector<int64_t>>());
}

INSTANTIATE_TEST_SUITE_P(Families, ModelGolden, ::testing::Values("qwen2", "llama", "qwen3", "mistral"));

}  // namespace
