// BemaState: TRL's BEMA schedules, step logic and update values (spec/trl-reference.md §2.1, §5.11),
// checked against tests/golden/bema_golden.json (make_bema_golden.py: TRL's code transcribed, python3-torch),
// and the paper's Figure 1(a) claim in the regime spec §2.3 states.
#include <cmath>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "bema_state.h"
#include "trl/sdk/error.h"

namespace {

using trl::bema::BemaAction;
using trl::bema::BemaParams;
using trl::bema::BemaState;

const nlohmann::json& golden() {
  static const nlohmann::json g = [] {
    const std::string path = std::string(TRL_TEST_DATA_DIR) + "/golden/bema_golden.json";
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path);
    return nlohmann::json::parse(in);
  }();
  return g;
}

BemaParams params_from_json(const nlohmann::json& j) {
  BemaParams p;
  p.update_freq = j.value("update_freq", p.update_freq);
  p.ema_power = j.value("ema_power", p.ema_power);
  p.bias_power = j.value("bias_power", p.bias_power);
  p.lag = j.value("lag", p.lag);
  p.update_after = j.value("update_after", p.update_after);
  p.multiplier = j.value("multiplier", p.multiplier);
  p.min_ema_multiplier = j.value("min_ema_multiplier", p.min_ema_multiplier);
  return p;
}

// A float32 tensor of `shape` from a flat JSON list.
at::Tensor tensor_from_json(const nlohmann::json& values, const nlohmann::json& shape) {
  std::vector<float> v = values.get<std::vector<float>>();
  return at::tensor(v, at::kFloat).reshape(shape.get<std::vector<int64_t>>());
}

// Trainable float32 parameters of the given shapes, all zeros.
std::vector<at::Tensor> trainable(const std::vector<std::vector<int64_t>>& shapes,
                                  at::ScalarType dtype = at::kFloat) {
  std::vector<at::Tensor> out;
  for (const auto& s : shapes) out.push_back(at::zeros(s, dtype).requires_grad_(true));
  return out;
}

// Runs a state over `steps` steps of a toy parameter that changes every step; returns the update calls.
std::vector<int64_t> update_calls(BemaParams p, int64_t steps) {
  BemaState s(p);
  std::vector<at::Tensor> live = trainable({{3}});
  s.begin({"x"}, live);
  for (int64_t step = 1; step <= steps; ++step) {
    at::NoGradGuard no_grad;
    live[0].add_(1.0);
    s.on_step_end(step);
  }
  return s.update_steps();
}

}  // namespace

// spec §5.11: TRL's tests count _update_bema_weights calls over 9 optimizer steps.
TEST(BemaState, UpdatesEveryTwoStepsFromStepTwo) {
  BemaParams p;
  p.update_freq = 2;
  EXPECT_EQ(update_calls(p, 9), (std::vector<int64_t>{2, 4, 6, 8}));
}

TEST(BemaState, UpdatesEveryThreeStepsFromStepThree) {
  BemaParams p;
  p.update_freq = 3;
  EXPECT_EQ(update_calls(p, 9), (std::vector<int64_t>{3, 6, 9}));
}

TEST(BemaState, UpdatesAfterBurnInSkipSnapshotStep) {
  BemaParams p;
  p.update_freq = 2;
  p.update_after = 3;
  EXPECT_EQ(update_calls(p, 9), (std::vector<int64_t>{5, 7, 9}));
}

TEST(BemaState, ActionAtFollowsTrlBranchOrder) {
  BemaParams p;
  p.update_freq = 2;
  p.update_after = 3;
  const BemaState s(p);
  EXPECT_EQ(s.action_at(1), BemaAction::none);
  EXPECT_EQ(s.action_at(3), BemaAction::snapshot);
  EXPECT_EQ(s.action_at(4), BemaAction::none);
  EXPECT_EQ(s.action_at(5), BemaAction::update);
  // update_after = 0: step 0 would be the snapshot, but the loop's first step is 1.
  const BemaState d{BemaParams{}};
  EXPECT_EQ(d.action_at(0), BemaAction::snapshot);
  EXPECT_EQ(d.action_at(1), BemaAction::none);
  EXPECT_EQ(d.action_at(400), BemaAction::update);
}

// Hand-computed with python3 (float64 pow), independent of the code under test:
//   beta_t = (10 + t)^-0.5, alpha_t = (10 + t)^-0.2 with TRL's defaults (lag 10, multiplier 1).
TEST(BemaState, DefaultSchedulesUseAbsoluteStep) {
  BemaParams p;
  p.update_after = 5;  // must not shift t: the schedules use the absolute global step
  const BemaState s(p);
  EXPECT_DOUBLE_EQ(s.ema_beta(1), 0.30151134457776363);     // 11^-0.5
  EXPECT_DOUBLE_EQ(s.bema_alpha(1), 0.6190439206838455);    // 11^-0.2
  EXPECT_DOUBLE_EQ(s.ema_beta(2), 0.28867513459481287);     // 12^-0.5
  EXPECT_DOUBLE_EQ(s.bema_alpha(2), 0.6083643418932058);    // 12^-0.2
  EXPECT_DOUBLE_EQ(s.ema_beta(400), 0.04938647983247948);   // 410^-0.5
  EXPECT_DOUBLE_EQ(s.bema_alpha(400), 0.3002224941812098);  // 410^-0.2
}

// lag 0, multiplier 2, ema_power 1: beta_t = max(1/(2t), 0.2) = 0.5, 0.25, then the floor 0.2.
TEST(BemaState, EmaBetaFloorsAtMinEmaMultiplier) {
  BemaParams p;
  p.lag = 0;
  p.multiplier = 2.0;
  p.ema_power = 1.0;
  p.min_ema_multiplier = 0.2;
  const BemaState s(p);
  EXPECT_DOUBLE_EQ(s.ema_beta(1), 0.5);
  EXPECT_DOUBLE_EQ(s.ema_beta(2), 0.25);
  EXPECT_DOUBLE_EQ(s.ema_beta(3), 0.2);
  EXPECT_DOUBLE_EQ(s.ema_beta(1000), 0.2);
}

TEST(BemaState, SchedulesMatchTrlGolden) {
  for (const nlohmann::json& c : golden().at("schedules")) {
    const BemaState s(params_from_json(c.at("params")));
    const std::vector<int64_t> steps = c.at("steps").get<std::vector<int64_t>>();
    for (size_t i = 0; i < steps.size(); ++i) {
      // Both sides evaluate one pow() in float64: equal to the last bit on the same libm.
      EXPECT_DOUBLE_EQ(s.ema_beta(steps[i]), c.at("beta")[i].get<double>()) << c.at("params") << " t=" << steps[i];
      EXPECT_DOUBLE_EQ(s.bema_alpha(steps[i]), c.at("alpha")[i].get<double>()) << c.at("params") << " t=" << steps[i];
    }
  }
}

TEST(BemaState, ZeroPowersPinBetaAndAlphaAtOne) {
  BemaParams p;
  p.ema_power = 0.0;
  p.bias_power = 0.0;
  const BemaState s(p);
  for (int64_t t : {1, 7, 400}) {
    EXPECT_EQ(s.ema_beta(t), 1.0);
    EXPECT_EQ(s.bema_alpha(t), 1.0);
  }
}

// Reference: TRL's BEMACallback transcribed in make_bema_golden.py, float32, seed 0, on a 2-parameter toy
// model; cases: every step, burn-in (update_after 3, freq 2), bias_power 0, ema_power 0, beta floor.
// Same ops in the same order: expected bit-identical; tolerance rtol 1e-6, atol 1e-7.
TEST(BemaState, UpdateValuesMatchTrlGolden) {
  for (const nlohmann::json& c : golden().at("toy")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const nlohmann::json& shapes = c.at("shapes");
    BemaState s(params_from_json(c.at("params")));
    std::vector<at::Tensor> live;
    for (size_t i = 0; i < shapes.size(); ++i)
      live.push_back(tensor_from_json(c.at("initial")[i], shapes[i]).requires_grad_(true));
    s.begin(c.at("names").get<std::vector<std::string>>(), live);
    for (const nlohmann::json& r : c.at("records")) {
      const int64_t step = r.at("step").get<int64_t>();
      {
        at::NoGradGuard no_grad;  // the "optimizer step": the live weights become TRL's
        for (size_t i = 0; i < live.size(); ++i) live[i].copy_(tensor_from_json(r.at("theta")[i], shapes[i]));
      }
      s.on_step_end(step);
      for (size_t i = 0; i < live.size(); ++i) {
        const at::Tensor theta0 = tensor_from_json(r.at("theta0")[i], shapes[i]);
        const at::Tensor ema = tensor_from_json(r.at("ema")[i], shapes[i]);
        const at::Tensor running = tensor_from_json(r.at("running")[i], shapes[i]);
        EXPECT_TRUE(at::allclose(s.theta0()[i], theta0, 1e-6, 1e-7)) << "step " << step << " theta0[" << i << "]";
        EXPECT_TRUE(at::allclose(s.ema()[i], ema, 1e-6, 1e-7)) << "step " << step << " ema[" << i << "]\n"
                                                               << s.ema()[i] << "\nvs\n" << ema;
        EXPECT_TRUE(at::allclose(s.running()[i], running, 1e-6, 1e-7))
            << "step " << step << " running[" << i << "]\n" << s.running()[i] << "\nvs\n" << running;
      }
    }
    EXPECT_EQ(s.update_steps(), c.at("update_calls").get<std::vector<int64_t>>());
  }
}

TEST(BemaState, RunningWeightsHoldInitialWeightsUntilFirstUpdate) {
  BemaParams p;
  p.update_freq = 2;
  p.update_after = 3;
  BemaState s(p);
  std::vector<at::Tensor> live = trainable({{2, 2}});
  {
    at::NoGradGuard no_grad;
    live[0].fill_(1.0);
  }
  s.begin({"w"}, live);
  for (int64_t step = 1; step <= 4; ++step) {
    {
      at::NoGradGuard no_grad;
      live[0].add_(1.0);  // weights after step t: 1 + t
    }
    s.on_step_end(step);
    EXPECT_TRUE(at::equal(s.running()[0], at::ones({2, 2}))) << "step " << step;
  }
  // The snapshot at step 3 = update_after took theta_0 and the EMA from the weights then (4).
  ASSERT_EQ(s.snapshot_step(), 3);
  EXPECT_TRUE(at::equal(s.theta0()[0], at::full({2, 2}, 4.0)));
  s.on_step_end(5);
  EXPECT_FALSE(at::equal(s.running()[0], at::ones({2, 2})));
}

// TRL's surprise, matched (spec §2.1): with update_after = 0 no snapshot ever happens, so theta_0 stays
// the pre-training weights.
TEST(BemaState, DefaultUpdateAfterKeepsPreTrainingThetaZero) {
  BemaParams p;
  p.update_freq = 1;
  BemaState s(p);
  std::vector<at::Tensor> live = trainable({{3}});
  s.begin({"x"}, live);
  for (int64_t step = 1; step <= 5; ++step) {
    {
      at::NoGradGuard no_grad;
      live[0].add_(2.0);
    }
    s.on_step_end(step);
  }
  EXPECT_FALSE(s.snapshot_step().has_value());
  EXPECT_TRUE(at::equal(s.theta0()[0], at::zeros({3})));
  EXPECT_EQ(s.update_steps(), (std::vector<int64_t>{1, 2, 3, 4, 5}));
}

// ema_power = 0: beta = 1, so the EMA is the current weights; bias_power = 0: alpha = 1, so
// running = EMA + (theta - theta_0). Both must run (spec §5.12).
TEST(BemaState, ZeroPowersRunAndGiveClosedForms) {
  BemaParams p;
  p.update_freq = 1;
  p.ema_power = 0.0;
  p.bias_power = 0.0;
  BemaState s(p);
  std::vector<at::Tensor> live = trainable({{2}});
  s.begin({"x"}, live);
  {
    at::NoGradGuard no_grad;
    live[0].copy_(at::tensor({1.5f, -2.0f}));
  }
  s.on_step_end(1);
  EXPECT_TRUE(at::equal(s.ema()[0], at::tensor({1.5f, -2.0f})));
  EXPECT_TRUE(at::equal(s.running()[0], at::tensor({3.0f, -4.0f})));
}

TEST(BemaState, WritesIntoGivenRunningTensorsAndLeavesLiveWeightsAlone) {
  BemaParams p;
  p.update_freq = 1;
  BemaState s(p);
  std::vector<at::Tensor> live = trainable({{4}});
  {
    at::NoGradGuard no_grad;
    live[0].copy_(at::arange(4, at::kFloat));
  }
  at::Tensor running = at::full({4}, 99.0f);
  s.begin({"x"}, live, {running});
  // begin() loads the live weights into the given tensor (TRL's load_state_dict).
  EXPECT_TRUE(at::equal(running, at::arange(4, at::kFloat)));
  {
    at::NoGradGuard no_grad;
    live[0].add_(1.0);
  }
  const at::Tensor before = live[0].detach().clone();
  EXPECT_EQ(s.on_step_end(1), BemaAction::update);
  EXPECT_TRUE(running.is_same(s.running()[0]));
  EXPECT_FALSE(at::equal(running, at::arange(4, at::kFloat)));
  EXPECT_TRUE(at::equal(live[0], before));
  EXPECT_TRUE(live[0].requires_grad());
}

// Resuming: a state restored from another's buffers continues the same average, bit for bit.
TEST(BemaState, RestoreContinuesTheSameAverage) {
  BemaParams p;
  p.update_freq = 2;
  p.update_after = 1;
  auto drive = [](BemaState& s, at::Tensor& w, int64_t from, int64_t to) {
    for (int64_t step = from; step <= to; ++step) {
      {
        at::NoGradGuard no_grad;
        w.add_(at::full({3}, 0.5 * static_cast<double>(step)).sin());
      }
      s.on_step_end(step);
    }
  };
  BemaState a(p);
  at::Tensor wa = at::zeros({3}).requires_grad_(true);
  a.begin({"w"}, {wa});
  drive(a, wa, 1, 4);

  BemaState b(p);
  at::Tensor wb = wa.detach().clone().requires_grad_(true);  // the resumed weights
  b.begin({"w"}, {wb});
  b.restore({a.theta0()[0].to(at::kDouble)}, {a.ema()[0]}, {a.running()[0]}, a.snapshot_step(), "test");
  EXPECT_EQ(b.snapshot_step(), 1);
  EXPECT_EQ(b.theta0()[0].scalar_type(), at::kFloat);
  drive(a, wa, 5, 8);
  drive(b, wb, 5, 8);
  EXPECT_TRUE(at::equal(a.theta0()[0], b.theta0()[0]));
  EXPECT_TRUE(at::equal(a.ema()[0], b.ema()[0]));
  EXPECT_TRUE(at::equal(a.running()[0], b.running()[0]));
}

TEST(BemaState, RestoreRefusesOtherShapeNamingSource) {
  BemaState s{BemaParams{}};
  s.begin({"w"}, {at::zeros({3}).requires_grad_(true)});
  try {
    s.restore({at::zeros({4})}, {at::zeros({3})}, {at::zeros({3})}, std::nullopt, "ckpt/bema_state.safetensors");
    FAIL() << "expected CheckpointError";
  } catch (const trl::CheckpointError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("ckpt/bema_state.safetensors"), std::string::npos) << what;
    EXPECT_NE(what.find("theta0.w"), std::string::npos) << what;
  }
}

TEST(BemaState, KeepsBuffersInParameterDtype) {
  BemaParams p;
  p.update_freq = 1;
  BemaState s(p);
  std::vector<at::Tensor> live = trainable({{2, 3}, {5}}, at::kDouble);
  s.begin({"a", "b"}, live);
  s.on_step_end(1);
  for (const auto* list : {&s.theta0(), &s.ema(), &s.running()})
    for (const at::Tensor& t : *list) {
      EXPECT_EQ(t.scalar_type(), at::kDouble);
      EXPECT_TRUE(t.device().is_cpu());
      EXPECT_FALSE(t.requires_grad());
    }
  // Three copies of the parameters: 3 * (6 + 5) doubles.
  EXPECT_EQ(s.buffer_bytes(), 3 * 11 * 8);
}

TEST(BemaState, RefusesFrozenParameterNamingIt) {
  BemaState s{BemaParams{}};
  std::vector<at::Tensor> live = trainable({{2}});
  live.push_back(at::zeros({2}));  // requires_grad = false
  try {
    s.begin({"model.embed_tokens.weight", "model.norm.weight"}, live);
    FAIL() << "expected ConfigError";
  } catch (const trl::ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("'model.norm.weight'"), std::string::npos) << what;
    EXPECT_NE(what.find("every parameter"), std::string::npos) << what;
    EXPECT_NE(what.find("trainable"), std::string::npos) << what;
  }
  EXPECT_FALSE(s.started());
}

TEST(BemaState, RefusesStepBeforeBegin) {
  BemaState s{BemaParams{}};
  EXPECT_THROW(s.on_step_end(1), trl::InternalError);
}

TEST(BemaState, RefusesBadDeviceNamingKey) {
  BemaParams p;
  p.device = "gpu0";
  try {
    BemaState s(p, "run.json: callbacks[0].args");
    FAIL() << "expected ConfigError";
  } catch (const trl::ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "run.json: callbacks[0].args: device: expected \"cpu\", \"cuda\" or \"cuda:N\", got \"gpu0\"");
  }
}

// The paper's Figure 1(a) regime as spec §2.3 states it: noisy gradient descent on f = 1/2 x^T A x with
// A = diag(1, 0.05), start (3, 3), lr 0.01, gradient noise 0.3, 50 steps; BEMA every step with TRL's
// default schedule (kappa 0.5, eta 0.2, rho 10) and theta_0 = start; mean distance to the minimum over
// seeds 0..39. While the iterate is still travelling, BEMA's extrapolation puts it ahead of both the raw
// iterate and the (lagging) EMA. Float64 throughout.
TEST(BemaState, Figure1aBemaIsClosestToMinimumWhileTravelling) {
  const nlohmann::json& ref = golden().at("figure1a");
  const double lr = 0.01;
  const double noise = 0.3;
  const int64_t steps = 50;
  const at::Tensor a = at::tensor({1.0, 0.05}, at::kDouble);
  BemaParams p;
  p.update_freq = 1;
  double sum_raw = 0.0, sum_ema = 0.0, sum_bema = 0.0;
  double min_margin_raw = INFINITY, min_margin_ema = INFINITY;
  const nlohmann::json& per_seed = ref.at("per_seed");
  for (uint64_t seed = 0; seed < per_seed.size(); ++seed) {
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    at::Tensor x = at::tensor({3.0, 3.0}, at::kDouble).requires_grad_(true);
    BemaState s(p);
    s.begin({"x"}, {x});
    for (int64_t t = 1; t <= steps; ++t) {
      {
        at::NoGradGuard no_grad;
        const at::Tensor xi = at::randn({2}, gen, at::kDouble);
        x.sub_((a * x + noise * xi) * lr);
      }
      s.on_step_end(t);
    }
    const double raw = x.detach().norm().item<double>();
    const double ema = s.ema()[0].norm().item<double>();
    const double bema = s.running()[0].norm().item<double>();
    // Same generator, same draws as the python3-torch reference: the distances agree.
    EXPECT_NEAR(raw, per_seed[seed].at("raw").get<double>(), 1e-9) << "seed " << seed;
    EXPECT_NEAR(ema, per_seed[seed].at("ema").get<double>(), 1e-9) << "seed " << seed;
    EXPECT_NEAR(bema, per_seed[seed].at("bema").get<double>(), 1e-9) << "seed " << seed;
    sum_raw += raw;
    sum_ema += ema;
    sum_bema += bema;
    min_margin_raw = std::min(min_margin_raw, raw - bema);
    min_margin_ema = std::min(min_margin_ema, ema - bema);
  }
  const double n = static_cast<double>(per_seed.size());
  std::cout << "Figure 1(a) regime, mean distance to the minimum over " << per_seed.size()
            << " seeds after " << steps << " steps: BEMA " << sum_bema / n << ", raw " << sum_raw / n << ", EMA "
            << sum_ema / n << "; smallest per-seed margin of BEMA over raw " << min_margin_raw << ", over EMA "
            << min_margin_ema << "\n";
  EXPECT_LT(sum_bema / n, sum_raw / n);
  EXPECT_LT(sum_bema / n, sum_ema / n);
  // Robust, not a lucky average: BEMA is closer than both on every single seed, by a clear margin.
  EXPECT_GT(min_margin_raw, 0.1);
  EXPECT_GT(min_margin_ema, 0.1);
}
