// Black-box tests of `trl-host init-model`, `trl-host generate` and `trl-host logits`: the real binary writes
// a model folder in the Hugging Face layout, the SDK loads it back, and generation and logits through the CLI
// are deterministic and agree with the SDK.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <nlohmann/json.hpp>

#include "trl/sdk/generate/generator.h"
#include "trl/sdk/model/causal_lm.h"
#include "trl/sdk/model/safetensors.h"
#include "trl/sdk/tokenizer/tokenizer.h"

namespace {

namespace fs = std::filesystem;

/// A fresh folder removed at the end of the test.
class Scratch {
 public:
  Scratch() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() / ("trl-model-cli-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string path(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

struct CliRun {
  int exit_code = -1;
  std::string out, err;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string quote(const std::string& arg) {
  std::string q = "'";
  for (char c : arg) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

/// Runs trl-host with `args` (each quoted for the shell), capturing stdout, stderr and the exit code.
CliRun trl_host(const Scratch& scratch, const std::vector<std::string>& args) {
  std::string command = quote(TRL_HOST_EXE);
  for (const auto& a : args) command += " " + quote(a);
  command += " >" + quote(scratch.path("stdout")) + " 2>" + quote(scratch.path("stderr"));
  const int status = std::system(command.c_str());
  CliRun run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.out = read_file(scratch.path("stdout"));
  run.err = read_file(scratch.path("stderr"));
  return run;
}

TEST(InitModelCli, TinyPresetWritesALoadableHfFolder) {
  Scratch scratch;
  const std::string dir = scratch.path("tiny");
  const CliRun run = trl_host(scratch, {"init-model", "--preset", "tiny", "--out", dir, "--seed", "3"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("wrote tiny Qwen2 model"), std::string::npos) << run.out;
  for (const char* file : {"config.json", "model.safetensors", "generation_config.json", "tokenizer.json",
                           "tokenizer_config.json"})
    EXPECT_TRUE(fs::exists(dir + "/" + file)) << file;

  const nlohmann::json config = nlohmann::json::parse(read_file(dir + "/config.json"));
  EXPECT_EQ(config["architectures"][0], "Qwen2ForCausalLM");
  EXPECT_EQ(config["hidden_size"], 64);
  EXPECT_EQ(config["num_hidden_layers"], 2);
  EXPECT_EQ(config["num_attention_heads"], 4);
  EXPECT_EQ(config["num_key_value_heads"], 2);
  EXPECT_EQ(config["intermediate_size"], 172);
  EXPECT_EQ(config["vocab_size"], 320);  // the byte tokenizer's 259 ids, rounded up to a multiple of 64
  EXPECT_EQ(config["eos_token_id"], 256);

  const trl::SafetensorsFile weights(dir + "/model.safetensors");
  EXPECT_TRUE(weights.contains("model.layers.1.self_attn.q_proj.bias"));
  EXPECT_EQ(weights.entry("model.embed_tokens.weight").shape, (std::vector<int64_t>{320, 64}));

  auto model = trl::CausalLM::from_pretrained(dir);
  auto tokenizer = trl::Tokenizer::load(dir);
  EXPECT_EQ(tokenizer->vocab_size(), 259);
  EXPECT_EQ(model->config().num_parameters(), [&] {
    int64_t n = 0;
    for (const auto& [name, t] : model->named_parameters()) n += t.numel();
    return n;
  }());
}

TEST(InitModelCli, SeedDecidesTheWeights) {
  Scratch scratch;
  ASSERT_EQ(trl_host(scratch, {"init-model", "--preset", "tiny", "--out", scratch.path("a"), "--seed", "1"}).exit_code, 0);
  ASSERT_EQ(trl_host(scratch, {"init-model", "--preset", "tiny", "--out", scratch.path("b"), "--seed", "1"}).exit_code, 0);
  ASSERT_EQ(trl_host(scratch, {"init-model", "--preset", "tiny", "--out", scratch.path("c"), "--seed", "2"}).exit_code, 0);
  EXPECT_EQ(read_file(scratch.path("a/model.safetensors")), read_file(scratch.path("b/model.safetensors")));
  EXPECT_NE(read_file(scratch.path("a/model.safetensors")), read_file(scratch.path("c/model.safetensors")));
}

TEST(InitModelCli, SmallPresetHasTheSpecifiedShape) {
  Scratch scratch;
  const CliRun run = trl_host(scratch, {"init-model", "--preset", "small", "--out", scratch.path("small")});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const nlohmann::json config = nlohmann::json::parse(read_file(scratch.path("small/config.json")));
  EXPECT_EQ(config["hidden_size"], 256);
  EXPECT_EQ(config["num_hidden_layers"], 4);
  EXPECT_EQ(config["intermediate_size"], 688);
  EXPECT_EQ(config["num_key_value_heads"], 2);
  EXPECT_EQ(config["tie_word_embeddings"], true);
}

TEST(InitModelCli, RefusesUnknownPresetAndExistingModel) {
  Scratch scratch;
  CliRun run = trl_host(scratch, {"init-model", "--preset", "huge", "--out", scratch.path("m")});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("--preset: expected tiny, small or large, got \"huge\""), std::string::npos) << run.err;
  ASSERT_EQ(trl_host(scratch, {"init-model", "--preset", "tiny", "--out", scratch.path("m")}).exit_code, 0);
  run = trl_host(scratch, {"init-model", "--preset", "tiny", "--out", scratch.path("m")});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("already holds a model"), std::string::npos) << run.err;
  EXPECT_EQ(trl_host(scratch, {"init-model", "--preset", "tiny", "--out", scratch.path("m"), "--force"}).exit_code, 0);
}

TEST(GenerateCli, GreedyCompletionMatchesTheSdk) {
  Scratch scratch;
  const std::string dir = scratch.path("tiny");
  ASSERT_EQ(trl_host(scratch, {"init-model", "--preset", "tiny", "--out", dir, "--seed", "5"}).exit_code, 0);
  const CliRun run = trl_host(scratch, {"generate", "--model", dir, "--prompt", "Hello", "--max-new-tokens", "12"});
  ASSERT_EQ(run.exit_code, 0) << run.err;

  // The same thing through the SDK: greedy (generation_config has no do_sample), stop at <|endoftext|>.
  auto model = trl::CausalLM::from_pretrained(dir);
  auto tokenizer = trl::Tokenizer::load(dir);
  trl::SamplingParams params;
  params.temperature = 0;
  params.max_new_tokens = 12;
  params.eos_token_ids = {256};
  params.pad_token_id = 256;
  const auto result = trl::generate(*model, {tokenizer->encode("Hello")}, params);
  EXPECT_EQ(run.out, tokenizer->decode(result.completion_ids[0], true) + "\n");
}

TEST(GenerateCli, SeededSamplingIsReproducible) {
  Scratch scratch;
  const std::string dir = scratch.path("tiny");
  ASSERT_EQ(trl_host(scratch, {"init-model", "--preset", "tiny", "--out", dir}).exit_code, 0);
  const std::vector<std::string> args = {"generate", "--model", dir, "--prompt", "The cat", "--chat",
                                         "--temperature", "1.0", "--top-p", "0.9", "--max-new-tokens", "16",
                                         "--seed", "42"};
  const CliRun a = trl_host(scratch, args), b = trl_host(scratch, args);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_FALSE(a.out.empty());
}

TEST(GenerateCli, BadFlagValueIsAUsageError) {
  Scratch scratch;
  const std::string dir = scratch.path("tiny");
  ASSERT_EQ(trl_host(scratch, {"init-model", "--preset", "tiny", "--out", dir}).exit_code, 0);
  const CliRun run = trl_host(scratch, {"generate", "--model", dir, "--prompt", "x", "--top-p", "1.5"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("top_p"), std::string::npos) << run.err;
}

TEST(GenerateCli, MissingModelIsARuntimeError) {
  Scratch scratch;
  const CliRun run = trl_host(scratch, {"generate", "--model", scratch.path("nothing"), "--prompt", "x"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find(scratch.path("nothing")), std::string::npos) << run.err;
}

}  // namespace

namespace {

TEST(LogitsCli, WritesTheSdkForwardLogits) {
  Scratch scratch;
  const std::string dir = scratch.path("tiny");
  ASSERT_EQ(trl_host(scratch, {"init-model", "--preset", "tiny", "--out", dir, "--seed", "3"}).exit_code, 0);
  const std::string out = scratch.path("logits.safetensors");
  const CliRun run = trl_host(scratch, {"logits", "--model", dir, "--ids", "72,101,108", "--ids", "1, 2,3", "--out", out});
  ASSERT_EQ(run.exit_code, 0) << run.err;

  std::map<std::string, at::Tensor> file;
  for (auto& [name, tensor] : trl::load_safetensors(out)) file[name] = tensor;
  const at::Tensor ids = at::tensor(std::vector<int64_t>{72, 101, 108, 1, 2, 3}, at::kLong).view({2, 3});
  ASSERT_TRUE(file.at("input_ids").equal(ids));
  auto model = trl::CausalLM::from_pretrained(dir);
  at::NoGradGuard no_grad;
  const at::Tensor want = model->logits(model->hidden_states(ids));  // (2, 3, V)
  ASSERT_EQ(file.at("logits").sizes(), want.sizes());
  EXPECT_EQ(file.at("logits").scalar_type(), at::kFloat);
  EXPECT_TRUE(file.at("logits").equal(want));
}

TEST(LogitsCli, RaggedRowsAndBadIdsAreUsageErrors) {
  Scratch scratch;
  const std::string dir = scratch.path("tiny");
  ASSERT_EQ(trl_host(scratch, {"init-model", "--preset", "tiny", "--out", dir}).exit_code, 0);
  const std::string out = scratch.path("x.safetensors");
  const CliRun ragged = trl_host(scratch, {"logits", "--model", dir, "--ids", "1,2", "--ids", "3", "--out", out});
  EXPECT_EQ(ragged.exit_code, 2);
  EXPECT_NE(ragged.err.find("same length"), std::string::npos) << ragged.err;
  const CliRun text = trl_host(scratch, {"logits", "--model", dir, "--ids", "1,x", "--out", out});
  EXPECT_EQ(text.exit_code, 2);
  EXPECT_NE(text.err.find("--ids"), std::string::npos) << text.err;
  const CliRun outside = trl_host(scratch, {"logits", "--model", dir, "--ids", "999999", "--out", out});
  EXPECT_EQ(outside.exit_code, 2);
  EXPECT_NE(outside.err.find("outside the model's vocabulary"), std::string::npos) << outside.err;
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
