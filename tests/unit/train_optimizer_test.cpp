// FusedAdamW against LibTorch's torch::optim::AdamW (same steps, same gradients), on the fused float32
// path and the fallback; make_adamw's groups; optimizer state through a checkpoint file.
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/Parallel.h>
#include <torch/optim/adamw.h>

#include "core/kernel_dispatch.h"
#include "model_test_support.h"
#include "train/fused_adamw.h"
#include "train/optimizer.h"
#include "trl/sdk/train/training_args.h"

namespace {

using torch::optim::AdamW;
using torch::optim::AdamWOptions;
using torch::optim::AdamWParamState;
using trl::FusedAdamW;
using trl::testing_support::ScratchDir;

/// Fresh leaf parameters with the given values (cloned, so two optimizers never share one).
std::vector<at::Tensor> leaves(const std::vector<at::Tensor>& values) {
  std::vector<at::Tensor> out;
  for (const at::Tensor& v : values) out.push_back(v.clone().requires_grad_());
  return out;
}

/// Two groups as make_adamw builds them: decay on group 0, none on group 1.
template <typename Optimizer>
Optimizer two_groups(const std::vector<at::Tensor>& decayed, const std::vector<at::Tensor>& plain, bool amsgrad) {
  auto options = [&](double wd) {
    return std::make_unique<AdamWOptions>(AdamWOptions(1e-2).betas({0.9, 0.99}).eps(1e-6).weight_decay(wd).amsgrad(amsgrad));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decayed, options(0.1));
  groups.emplace_back(plain, options(0.0));
  return Optimizer(std::move(groups), AdamWOptions(1e-2));
}

const AdamWParamState& state_of(const torch::optim::Optimizer& optimizer, const at::Tensor& p) {
  return static_cast<const AdamWParamState&>(*optimizer.state().at(trl::adamw_state_key(p)));
}

/// Steps both optimizers `steps` times with the same random gradients and compares parameters and moments.
void expect_same_steps(bool amsgrad) {
  const int saved_threads = at::get_num_threads();
  at::set_num_threads(2);  // the fused loop splits parameters above 32768 values across threads
  at::manual_seed(3);
  // A matrix over the fused loop's grain, a bias, and a float64 parameter (the fallback path).
  const std::vector<at::Tensor> init = {at::randn({301, 257}), at::randn({257}), at::randn({5, 3}, at::kDouble)};
  std::vector<at::Tensor> ours = leaves(init), theirs = leaves(init);
  auto fused = two_groups<FusedAdamW>({ours[0], ours[2]}, {ours[1]}, amsgrad);
  auto reference = two_groups<AdamW>({theirs[0], theirs[2]}, {theirs[1]}, amsgrad);
  for (int step = 0; step < 5; ++step) {
    for (size_t i = 0; i < init.size(); ++i) {
      const at::Tensor grad = at::randn(init[i].sizes(), init[i].options()) * (step + 1);
      ours[i].mutable_grad() = grad.clone();
      theirs[i].mutable_grad() = grad.clone();
    }
    fused.step();
    reference.step();
  }
  for (size_t i = 0; i < init.size(); ++i) {
    SCOPED_TRACE("parameter " + std::to_string(i));
    EXPECT_FALSE(at::equal(ours[i], init[i])) << "the parameter moved";
    EXPECT_TRUE(at::allclose(ours[i], theirs[i], 1e-5, 1e-6)) << (ours[i] - theirs[i]).abs().max().item<double>();
    const AdamWParamState &a = state_of(fused, ours[i]), &b = state_of(reference, theirs[i]);
    EXPECT_EQ(a.step(), 5);
    EXPECT_EQ(a.step(), b.step());
    EXPECT_TRUE(at::allclose(a.exp_avg(), b.exp_avg(), 1e-5, 1e-7));
    EXPECT_TRUE(at::allclose(a.exp_avg_sq(), b.exp_avg_sq(), 1e-5, 1e-9));
  }
  at::set_num_threads(saved_threads);
}

TEST(FusedAdamW, MatchesLibTorchAdamW) { expect_same_steps(/*amsgrad=*/false); }

// The device-generic path (LibTorch's ops, what a CUDA parameter takes: core/kernel_dispatch.h), forced on
// the CPU, steps exactly as the fused loop does to float rounding.
TEST(FusedAdamW, GenericPathMatchesTheFusedLoop) {
  at::manual_seed(5);
  const std::vector<at::Tensor> init = {at::randn({301, 257}), at::randn({257})};
  std::vector<at::Tensor> fused_params = leaves(init), generic_params = leaves(init);
  auto fused = two_groups<FusedAdamW>({fused_params[0]}, {fused_params[1]}, /*amsgrad=*/false);
  auto generic = two_groups<FusedAdamW>({generic_params[0]}, {generic_params[1]}, /*amsgrad=*/false);
  for (int step = 0; step < 3; ++step) {
    for (size_t i = 0; i < init.size(); ++i) {
      const at::Tensor grad = at::randn(init[i].sizes());
      fused_params[i].mutable_grad() = grad.clone();
      generic_params[i].mutable_grad() = grad.clone();
    }
    fused.step();
    const trl::ScopedGenericKernels force;
    generic.step();
  }
  for (size_t i = 0; i < init.size(); ++i) {
    EXPECT_FALSE(at::equal(generic_params[i], init[i])) << "the parameter moved";
    EXPECT_TRUE(at::allclose(generic_params[i], fused_params[i], 1e-5, 1e-6)) << "parameter " << i;
  }
}

// The fused loop's elements are independent and it is compiled with OpenMP (sdk/CMakeLists.txt): on one thread
// and on two, whatever the split, every parameter and moment is the same to the bit. The sizes are over
// and off the loop's grain (32768 values), so two threads split them unevenly.
TEST(FusedAdamW, SameOnOneAndTwoThreads) {
  const int saved_threads = at::get_num_threads();
  at::manual_seed(11);
  const std::vector<at::Tensor> init = {at::randn({301, 257}), at::randn({70001}), at::randn({257})};
  std::vector<std::vector<at::Tensor>> gradients;
  for (int step = 0; step < 3; ++step) {
    gradients.emplace_back();
    for (const at::Tensor& p : init) gradients.back().push_back(at::randn(p.sizes()) * (step + 1));
  }
  auto run = [&](int threads) {
    at::set_num_threads(threads);
    std::vector<at::Tensor> params = leaves(init);
    auto optimizer = two_groups<FusedAdamW>({params[0], params[1]}, {params[2]}, /*amsgrad=*/false);
    for (const auto& step : gradients) {
      for (size_t i = 0; i < params.size(); ++i) params[i].mutable_grad() = step[i].clone();
      optimizer.step();
    }
    std::vector<at::Tensor> out;
    for (const at::Tensor& p : params) {
      const AdamWParamState& s = state_of(optimizer, p);
      out.insert(out.end(), {p.detach().clone(), s.exp_avg().clone(), s.exp_avg_sq().clone()});
    }
    return out;
  };
  const std::vector<at::Tensor> one = run(1), two = run(2);
  at::set_num_threads(saved_threads);
  ASSERT_EQ(one.size(), two.size());
  for (size_t i = 0; i < one.size(); ++i) {
    EXPECT_FALSE(at::equal(one[i], at::zeros_like(one[i]))) << "tensor " << i << " was updated";
    EXPECT_TRUE(at::equal(one[i], two[i])) << "parameter " << i / 3 << ", tensor " << i % 3 << " (p, m, v)";
  }
}

// The fused loop runs the CPU's widest clone (AVX-512 or AVX2, sdk/src/train/fused_adamw.cpp): each element
// is the same to the bit as the formula written out in scalar float arithmetic here (this unit and the loop are
// compiled with -ffp-contract=off: a fused multiply-add would round once where the formula rounds twice). Two steps, with and without weight decay, over a size that is no multiple of a vector.
TEST(FusedAdamW, EveryElementIsTheScalarFormula) {
  at::manual_seed(13);
  const int64_t n = 40003;
  const at::Tensor init = at::randn({n});
  const std::vector<at::Tensor> grads = {at::randn({n}), at::randn({n}) * 3};
  for (const double wd : {0.0, 0.1}) {
    SCOPED_TRACE("weight decay " + std::to_string(wd));
    std::vector<at::Tensor> params = leaves({init});
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(params, std::make_unique<AdamWOptions>(AdamWOptions(1e-2).betas({0.9, 0.99}).eps(1e-6).weight_decay(wd)));
    FusedAdamW optimizer(std::move(groups), AdamWOptions(1e-2));
    std::vector<float> p(init.data_ptr<float>(), init.data_ptr<float>() + n), m(n, 0.0f), v(n, 0.0f);
    for (size_t step = 1; step <= grads.size(); ++step) {
      params[0].mutable_grad() = grads[step - 1].clone();
      optimizer.step();
      // fused_adamw.cpp's scalars, each rounded to float once.
      const double bias1 = 1 - std::pow(0.9, step), bias2 = 1 - std::pow(0.99, step);
      const float decay = static_cast<float>(1 - 1e-2 * wd), beta1 = 0.9f, one_minus_beta1 = static_cast<float>(1 - 0.9);
      const float beta2 = 0.99f, one_minus_beta2 = static_cast<float>(1 - 0.99);
      const float bias2_sqrt = static_cast<float>(std::sqrt(bias2)), eps = 1e-6f;
      const float neg_step = static_cast<float>(-1e-2 / bias1);
      const float* g = grads[step - 1].data_ptr<float>();
      for (int64_t i = 0; i < n; ++i) {
        const float param = wd != 0 ? p[i] * decay : p[i];
        m[i] = m[i] * beta1 + one_minus_beta1 * g[i];
        v[i] = v[i] * beta2 + one_minus_beta2 * g[i] * g[i];
        const float denom = std::sqrt(v[i]) / bias2_sqrt + eps;
        p[i] = param + neg_step * m[i] / denom;
      }
    }
    const at::Tensor expected = at::from_blob(p.data(), {n}, at::kFloat);
    const at::Tensor differ = params[0].detach().ne(expected);
    EXPECT_EQ(differ.sum().item<int64_t>(), 0) << "first differing element "
                                                 << (differ.any().item<bool>() ? differ.nonzero()[0].item<int64_t>() : -1);
    EXPECT_TRUE(at::equal(state_of(optimizer, params[0]).exp_avg(), at::from_blob(m.data(), {n}, at::kFloat)));
    EXPECT_TRUE(at::equal(state_of(optimizer, params[0]).exp_avg_sq(), at::from_blob(v.data(), {n}, at::kFloat)));
  }
}

TEST(FusedAdamW, AmsgradTakesLibTorchsOps) { expect_same_steps(/*amsgrad=*/true); }

TEST(FusedAdamW, SkipsParametersWithoutGradient) {
  std::vector<at::Tensor> p = leaves({at::ones({4}), at::ones({4})});
  FusedAdamW optimizer(p, AdamWOptions(0.1));
  p[0].mutable_grad() = at::ones({4});
  optimizer.step();
  EXPECT_FALSE(at::equal(p[0], at::ones({4})));
  EXPECT_TRUE(at::equal(p[1], at::ones({4})));
  EXPECT_EQ(optimizer.state().count(trl::adamw_state_key(p[1])), 0u);
}

TEST(MakeAdamW, StateSurvivesACheckpointFile) {
  trl::TrainingArguments args;
  args.learning_rate = 1e-2;
  args.weight_decay = 0.05;
  at::manual_seed(5);
  const std::vector<at::Tensor> init = {at::randn({40, 30}), at::randn({30})};
  const std::vector<at::Tensor> a = leaves(init), b = leaves(init);
  const trl::NamedParameters named_a = {{"layer.weight", a[0]}, {"layer.bias", a[1]}};
  const trl::NamedParameters named_b = {{"layer.weight", b[0]}, {"layer.bias", b[1]}};
  auto first = trl::make_adamw(named_a, args);
  ASSERT_NE(dynamic_cast<FusedAdamW*>(first.get()), nullptr);
  EXPECT_EQ(first->param_groups()[0].params().size(), 1u) << "the weight decays";
  EXPECT_EQ(first->param_groups()[1].params().size(), 1u) << "the bias does not";

  auto grads = [&](int step) {
    at::manual_seed(100 + step);
    return std::vector<at::Tensor>{at::randn({40, 30}), at::randn({30})};
  };
  for (int step = 0; step < 3; ++step) {
    const auto g = grads(step);
    for (size_t i = 0; i < 2; ++i) a[i].mutable_grad() = g[i].clone();
    first->step();
  }
  // The second optimizer starts from the first's parameters and saved state, then both take two steps.
  ScratchDir dir("optimizer");
  trl::save_optimizer_state(*first, named_a, dir.path("optimizer.safetensors"));
  {
    const at::NoGradGuard no_grad;
    for (size_t i = 0; i < 2; ++i) b[i].copy_(a[i]);
  }
  auto second = trl::make_adamw(named_b, args);
  trl::load_optimizer_state(*second, named_b, dir.path("optimizer.safetensors"));
  for (int step = 3; step < 5; ++step) {
    const auto g = grads(step);
    for (size_t i = 0; i < 2; ++i) {
      a[i].mutable_grad() = g[i].clone();
      b[i].mutable_grad() = g[i].clone();
    }
    first->step();
    second->step();
  }
  for (size_t i = 0; i < 2; ++i) EXPECT_TRUE(at::equal(a[i], b[i])) << "parameter " << i;
  EXPECT_EQ(state_of(*second, b[0]).step(), 5);
}

}  // namespace
