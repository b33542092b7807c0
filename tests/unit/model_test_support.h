// Shared by the model, KV cache, token statistics and generation tests: tiny configs, temporary folders,
// the golden file of tests/golden/make_model_golden.py.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "trl/sdk/model/model_config.h"

namespace trl::testing_support {

/// A fixture on two intra-op threads (the CPU kernels spread their rows or slices over them) with a fixed
/// seed; the previous thread count comes back after each test.
class TwoThreadsTest : public ::testing::Test {
 protected:
  explicit TwoThreadsTest(uint64_t seed) : seed_(seed) {}
  void SetUp() override {
    saved_threads_ = at::get_num_threads();
    at::set_num_threads(2);
    at::manual_seed(seed_);
  }
  void TearDown() override { at::set_num_threads(saved_threads_); }

 private:
  uint64_t seed_;
  int saved_threads_ = 1;
};

/// A tiny decoder config (vocab 64, hidden 32, 2 layers, 4 query / 2 key-value heads) of `model_type`,
/// with `overrides` merged over it.
inline ModelConfig tiny_model_config(const std::string& model_type = "qwen2",
                                     const nlohmann::json& overrides = nlohmann::json::object()) {
  nlohmann::json j = {{"model_type", model_type}, {"vocab_size", 64}, {"hidden_size", 32},
                      {"intermediate_size", 48}, {"num_hidden_layers", 2}, {"num_attention_heads", 4},
                      {"num_key_value_heads", 2}, {"max_position_embeddings", 256}, {"rope_theta", 10000.0},
                      {"initializer_range", 0.2}, {"eos_token_id", 2}};
  if (model_type == "qwen3") j["head_dim"] = 16;
  if (model_type == "mistral") j["sliding_window"] = nullptr;
  j.merge_patch(overrides);
  return ModelConfig::from_json(j, "test-config.json");
}

/// A fresh empty folder, removed with its contents when the object goes away.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& tag) {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("trl-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  /// The folder, or a path inside it.
  std::string path(const std::string& name = "") const { return name.empty() ? path_.string() : (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

/// tests/golden/model_golden.json (written by tests/golden/make_model_golden.py).
inline const nlohmann::json& model_golden() {
  static const nlohmann::json golden = [] {
    std::ifstream in(std::string(TRL_TEST_DATA_DIR) + "/golden/model_golden.json");
    return nlohmann::json::parse(in);
  }();
  return golden;
}

/// The golden model folder of `name` ("qwen2", "llama", "qwen3", "mistral").
inline std::string golden_model_dir(const std::string& name) {
  return std::string(TRL_TEST_DATA_DIR) + "/golden/model/" + name;
}

/// A (rows, columns) int64 tensor from nested braces (at::tensor takes one level only).
inline at::Tensor long_matrix(std::initializer_list<std::initializer_list<int64_t>> rows) {
  std::vector<int64_t> flat;
  for (const auto& row : rows) flat.insert(flat.end(), row.begin(), row.end());
  return at::tensor(flat, at::kLong).view({static_cast<int64_t>(rows.size()), -1});
}

/// A (rows, columns) float32 tensor from nested braces.
inline at::Tensor float_matrix(std::initializer_list<std::initializer_list<float>> rows) {
  std::vector<float> flat;
  for (const auto& row : rows) flat.insert(flat.end(), row.begin(), row.end());
  return at::tensor(flat, at::kFloat).view({static_cast<int64_t>(rows.size()), -1});
}

/// A (rows, columns) bool tensor from nested braces.
inline at::Tensor bool_matrix(std::initializer_list<std::initializer_list<bool>> rows) {
  std::vector<int64_t> flat;
  for (const auto& row : rows)
    for (bool b : row) flat.push_back(b ? 1 : 0);
  return at::tensor(flat, at::kLong).view({static_cast<int64_t>(rows.size()), -1}).to(at::kBool);
}

/// A nested JSON array of numbers as a tensor of `dtype`.
inline at::Tensor json_tensor(const nlohmann::json& j, at::ScalarType dtype) {
  std::vector<int64_t> shape;
  const nlohmann::json* level = &j;
  while (level->is_array()) {
    shape.push_back(static_cast<int64_t>(level->size()));
    if (level->empty()) break;
    level = &(*level)[0];
  }
  std::vector<double> flat;
  std::function<void(const nlohmann::json&)> walk = [&](const nlohmann::json& v) {
    if (v.is_array()) for (const auto& e : v) walk(e);
    else flat.push_back(v.get<double>());
  };
  walk(j);
  return at::tensor(flat, at::kDouble).view(shape).to(dtype);
}

}  // namespace trl::testing_support
