// Which LibTorch runs (trl/sdk/torch_runtime.h), the config checks built on it (TrainingArguments: device,
// torch_dtype, bf16, refused before any model is loaded) and bf16 autocast (train/autocast_scope.h).
// The same tests run in both builds, Debian's LibTorch 1.13 and 2.x from the torch wheel (docs/torch2.md).
#include <string>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>
#include <torch/csrc/api/include/torch/version.h>

#include "train/autocast_scope.h"
#include "trl/sdk/error.h"
#include "trl/sdk/torch_runtime.h"
#include "trl/sdk/train/training_args.h"

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The ConfigError message of TrainingArguments::from_args for these args (empty if accepted).
std::string from_args_error(const nlohmann::json& extra) {
  nlohmann::json config = {{"output_dir", "out"}};
  for (const auto& [key, value] : extra.items()) config[key] = value;
  try {
    trl::TrainingArguments::from_args(trl::training_arguments_params().validate(config, "run.json: args"));
  } catch (const trl::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(TorchRuntime, NamesTheLibTorchAndTheLibraryInUse) {
  const trl::TorchRuntimeInfo& rt = trl::torch_runtime();
  EXPECT_EQ(rt.version, TORCH_VERSION);
  EXPECT_TRUE(contains(rt.library_path, "libtorch_cpu.so")) << rt.library_path;
  const std::string text = rt.describe();
  EXPECT_EQ(text.rfind("LibTorch " + std::string(TORCH_VERSION) + " (", 0), 0u) << text;
  EXPECT_TRUE(contains(text, " from /")) << text;
  if (!rt.cuda_loaded) {
    EXPECT_EQ(rt.cuda_devices, 0);
  }
}

// float32 always trains. Half-precision linear layers on the CPU: LibTorch 1.13 has no CPU kernel for
// them (addmm "not implemented for 'Half'"), 2.x has; the probe finds out at run time.
TEST(TorchRuntime, ProbesWhichDtypesTrainOnTheCpu) {
  const c10::Device cpu(c10::kCPU);
  EXPECT_EQ(trl::dtype_unsupported_reason(cpu, c10::kFloat), "");
  EXPECT_EQ(trl::dtype_unsupported_reason(cpu, c10::kBFloat16), "");
  const std::string half = trl::dtype_unsupported_reason(cpu, c10::kHalf);
  if (TORCH_VERSION_MAJOR == 1) {
    EXPECT_TRUE(contains(half, "Half")) << half;
  } else {
    EXPECT_EQ(half, "");
  }
  EXPECT_EQ(trl::dtype_unsupported_reason(cpu, c10::kHalf), half) << "cached";
}

// float16 where linear layers cannot run it is a config error naming the key, the reason and the LibTorch;
// where they can, it is accepted.
TEST(TrainingArgsDtype, Float16IsRefusedWhereLinearLayersCannotRunIt) {
  const std::string error = from_args_error({{"torch_dtype", "float16"}});
  if (trl::dtype_unsupported_reason(c10::Device(c10::kCPU), c10::kHalf).empty()) {
    EXPECT_EQ(error, "");
  } else {
    EXPECT_TRUE(contains(error, "run.json: args: torch_dtype: \"float16\" cannot train on cpu with LibTorch " +
                                    std::string(TORCH_VERSION)))
        << error;
    EXPECT_TRUE(contains(error, "(use float32, or bfloat16)")) << error;
  }
  EXPECT_EQ(from_args_error({{"torch_dtype", "bfloat16"}}), "");
  EXPECT_EQ(from_args_error({{"bf16", true}}), "");
}

// device: cuda with a LibTorch without its CUDA backend names the LibTorch build and where it comes from.
TEST(TrainingArgsDevice, CudaWithoutCudaBackendNamesTheLibTorch) {
  const std::string error = from_args_error({{"device", "cuda"}});
  const trl::TorchRuntimeInfo& rt = trl::torch_runtime();
  if (rt.cuda_devices > 0) {
    EXPECT_EQ(error, "");
  } else if (!rt.cuda_loaded) {
    EXPECT_TRUE(contains(error, "run.json: args: device: \"cuda\" needs LibTorch's CUDA backend, and this trl-host runs "
                                "LibTorch " + std::string(TORCH_VERSION)))
        << error;
    EXPECT_TRUE(contains(error, rt.describe())) << error;
  } else {
    EXPECT_TRUE(contains(error, "no CUDA device is visible")) << error;
  }
  EXPECT_TRUE(contains(from_args_error({{"device", "tpu"}}), "device: expected cpu, cuda or cuda:N, got \"tpu\""));
}

// Inside the scope linear layers compute in bfloat16 from float32 weights, softmax stays float32; outside
// (and after a nested scope ends) everything is float32 again.
TEST(AutocastScope, LinearRunsInBfloat16OnlyInside) {
  const c10::Device cpu(c10::kCPU);
  const at::Tensor x = at::randn({4, 8}), w = at::randn({3, 8}, at::TensorOptions().requires_grad(true));
  {
    const trl::AutocastScope bf16(cpu, true);
    EXPECT_EQ(at::linear(x, w).scalar_type(), at::kBFloat16);
    {
      const trl::AutocastScope inner(cpu, true);
      EXPECT_EQ(at::linear(x, w).scalar_type(), at::kBFloat16);
    }
    EXPECT_EQ(at::linear(x, w).scalar_type(), at::kBFloat16) << "an inner scope leaves the outer one on";
    EXPECT_EQ(at::log_softmax(at::linear(x, w), -1, at::kFloat).scalar_type(), at::kFloat);
  }
  EXPECT_EQ(at::linear(x, w).scalar_type(), at::kFloat);
  {
    const trl::AutocastScope off(cpu, false);
    EXPECT_EQ(at::linear(x, w).scalar_type(), at::kFloat);
  }
  EXPECT_EQ(w.scalar_type(), at::kFloat) << "the weights are never converted";
}

}  // namespace
