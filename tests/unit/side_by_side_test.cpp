// core/side_by_side.h and ReferenceModel::run_beside: two pieces of work on the two intra-op threads at once,
// the second with the caller's grad mode and autocast, exceptions after both, the sequential fallbacks; the
// reference's result beside a policy forward equal to run()'s.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include "core/side_by_side.h"
#include "core/torch_compat.h"
#include "model_test_support.h"
#include "train/autocast_scope.h"
#include "trl/sdk/model/causal_lm.h"
#include "trl/sdk/train/reference_model.h"

namespace trl {
namespace {

using testing_support::tiny_model_config;

// Two intra-op threads for the test, one again afterwards (the suite's setting), TRL_SIDE_BY_SIDE unset.
class SideBySideTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("TRL_SIDE_BY_SIDE");
    at::set_num_threads(2);
  }
  void TearDown() override {
    unsetenv("TRL_SIDE_BY_SIDE");
    at::set_num_threads(1);
  }
};

// Each side waits (at most 10 s) until the other has started: both finish waiting only if they ran at once.
struct Rendezvous {
  std::atomic<int> arrived{0};
  bool meet() {
    arrived.fetch_add(1);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (arrived.load() < 2)
      if (std::chrono::steady_clock::now() > until) return false;
    return true;
  }
};

TEST_F(SideBySideTest, RunsBothAtOnceOnTwoThreads) {
  ASSERT_TRUE(side_by_side_available());
  Rendezvous r;
  bool met_here = false, met_there = false, nested_here = false, nested_there = false;
  std::thread::id here_id, there_id;
  run_side_by_side(
      [&] {
        here_id = std::this_thread::get_id();
        nested_here = at::in_parallel_region();
        met_here = r.meet();
      },
      [&] {
        there_id = std::this_thread::get_id();
        nested_there = at::in_parallel_region();
        met_there = r.meet();
      });
  EXPECT_TRUE(met_here && met_there) << "the two sides did not run at the same time";
  EXPECT_EQ(here_id, std::this_thread::get_id()) << "`here` runs on the calling thread";
  EXPECT_NE(there_id, here_id);
  // Each side's own operations run serially on its thread (ATen's parallel loops see the region).
  EXPECT_TRUE(nested_here);
  EXPECT_TRUE(nested_there);
  EXPECT_FALSE(at::in_parallel_region());
}

TEST_F(SideBySideTest, SecondSideSeesTheCallersGradModeAndAutocast) {
  const at::Tensor x = at::randn({3, 8}), w = at::randn({4, 8}, at::requires_grad());
  at::Tensor out;
  bool grad_on = true, autocast_on = false;
  {
    at::NoGradGuard no_grad;
    const AutocastScope bf16(c10::Device(c10::kCPU), true, at::kBFloat16);
    run_side_by_side([] {}, [&] {
      grad_on = at::GradMode::is_enabled();
      autocast_on = compat::autocast_enabled(c10::DeviceType::CPU);
      out = at::linear(x, w);
    });
  }
  EXPECT_FALSE(grad_on);
  EXPECT_TRUE(autocast_on);
  EXPECT_EQ(out.scalar_type(), at::kBFloat16) << "autocast with its dtype ran on the second thread";
  EXPECT_FALSE(out.requires_grad());
  // Nothing stays behind on the worker: the next call without autocast and with grad mode sees neither.
  run_side_by_side([] {}, [&] {
    grad_on = at::GradMode::is_enabled();
    autocast_on = compat::autocast_enabled(c10::DeviceType::CPU);
  });
  EXPECT_TRUE(grad_on);
  EXPECT_FALSE(autocast_on);
}

TEST_F(SideBySideTest, AnExceptionArrivesAfterBothSidesFinished) {
  bool here_done = false;
  EXPECT_THROW(run_side_by_side(
                   [&] {
                     std::this_thread::sleep_for(std::chrono::milliseconds(50));
                     here_done = true;
                   },
                   [] { throw std::runtime_error("there failed"); }),
               std::runtime_error);
  EXPECT_TRUE(here_done);
  EXPECT_THROW(run_side_by_side([] { throw std::invalid_argument("here failed"); }, [] {}), std::invalid_argument);
}

TEST_F(SideBySideTest, OneThreadOrTheSwitchRunsThemInOrderOnTheCaller) {
  const auto order_and_threads = [] {
    std::vector<int> order;
    std::vector<std::thread::id> ids;
    run_side_by_side([&] { order.push_back(0), ids.push_back(std::this_thread::get_id()); },
                     [&] { order.push_back(1), ids.push_back(std::this_thread::get_id()); });
    EXPECT_EQ(order, (std::vector<int>{0, 1}));
    EXPECT_EQ(ids, (std::vector<std::thread::id>{std::this_thread::get_id(), std::this_thread::get_id()}));
  };
  setenv("TRL_SIDE_BY_SIDE", "0", 1);
  EXPECT_FALSE(side_by_side_available());
  order_and_threads();
  unsetenv("TRL_SIDE_BY_SIDE");
  at::set_num_threads(1);
  EXPECT_FALSE(side_by_side_available());
  order_and_threads();
  at::set_num_threads(3);  // more threads: each side's operations spread over all of them instead
  EXPECT_FALSE(side_by_side_available());
}

// The reference's per-position log-probs of `ids`, and the thread that computed them.
at::Tensor reference_logps(const CausalLM& model, const at::Tensor& ids, std::thread::id* thread) {
  if (thread != nullptr) *thread = std::this_thread::get_id();
  return at::log_softmax(model.logits(model.hidden_states(ids)), -1);
}

TEST_F(SideBySideTest, ReferenceBesideThePolicyGivesRunsResult) {
  // Layers outweigh the lm_head in this config (2 layers of 32 x (2*32 + 2*16 + 3*48) against 64 x 32), and
  // the products run in bfloat16 under autocast.
  const std::unique_ptr<CausalLM> policy = CausalLM::from_config(tiny_model_config(), 3);
  policy->set_requires_grad(true);
  const ReferenceModel reference(CausalLM::from_config(tiny_model_config(), 4));
  const at::Tensor ids = at::randint(0, 64, {2, 12}, at::kLong);
  const AutocastScope bf16(c10::Device(c10::kCPU), true, at::kBFloat16);
  std::thread::id ref_thread;
  at::Tensor policy_hidden;
  const at::Tensor beside = reference.run_beside([&](const CausalLM& m) { return reference_logps(m, ids, &ref_thread); },
                                                 [&] { policy_hidden = policy->hidden_states(ids); });
  EXPECT_NE(ref_thread, std::this_thread::get_id()) << "the reference ran on the second thread";
  EXPECT_FALSE(beside.requires_grad()) << "run()'s no-grad holds on the second thread";
  EXPECT_TRUE(policy_hidden.requires_grad()) << "the policy's forward kept its graph";
  const at::Tensor alone = reference.run([&](const CausalLM& m) { return reference_logps(m, ids, nullptr); });
  EXPECT_TRUE(at::allclose(beside, alone, 1e-6, 1e-6));
  EXPECT_TRUE(at::allclose(policy_hidden, policy->hidden_states(ids), 1e-6, 1e-6));
}

// Where running the two side by side does not pay (measured: float32 products, an lm_head heavier than the
// layers), the reference runs after `alongside`, on the calling thread.
TEST_F(SideBySideTest, ReferenceRunsAfterThePolicyWhereOverlapDoesNotPay) {
  const auto runs_after = [](const ModelConfig& config, bool bf16) {
    const ReferenceModel reference(CausalLM::from_config(config, 4));
    const at::Tensor ids = at::randint(0, 64, {1, 6}, at::kLong);
    const AutocastScope mixed(c10::Device(c10::kCPU), bf16, at::kBFloat16);
    std::thread::id ref_thread;
    bool policy_done = false, ref_after_policy = false;
    reference.run_beside(
        [&](const CausalLM& m) {
          ref_after_policy = policy_done;
          return reference_logps(m, ids, &ref_thread);
        },
        [&] { policy_done = true; });
    return ref_thread == std::this_thread::get_id() && ref_after_policy;
  };
  EXPECT_TRUE(runs_after(tiny_model_config(), /*bf16=*/false)) << "float32 products";
  // vocab 4096 x 32 against 2 layers of 32 x 240: the two sides' lm_heads differ too much to overlap.
  EXPECT_TRUE(runs_after(tiny_model_config("qwen2", {{"vocab_size", 4096}}), /*bf16=*/true)) << "lm_head-heavy";
  EXPECT_FALSE(runs_after(tiny_model_config(), /*bf16=*/true)) << "the case that overlaps";
}

}  // namespace
}  // namespace trl
