// trl_bench: one benchmark workload of trl-host, timed step by step, written as JSON for bench/compare.py
// (the PyTorch-eager peer, bench/reference/peer.py, writes the same schema).
//
//   trl_bench --workload dpo|grpo|generate|sgemm --model DIR --inputs FILE --steps N --warmup W
//             --threads K --out FILE
//
// One workload per process, so the peak RSS (getrusage) belongs to that workload alone.
#include <sys/resource.h>
#include <time.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/version.h>

#include "bench_workloads.h"
#include "trl/sdk/model/model_config.h"

namespace trl::bench {

at::Tensor id_matrix(const std::vector<std::vector<int64_t>>& rows) {
  const int64_t columns = rows.empty() ? 0 : static_cast<int64_t>(rows.front().size());
  at::Tensor out = at::empty({static_cast<int64_t>(rows.size()), columns}, at::kLong);
  int64_t* data = out.data_ptr<int64_t>();
  for (const auto& row : rows) {
    if (static_cast<int64_t>(row.size()) != columns) throw std::runtime_error("id_matrix: rows of different lengths");
    data = std::copy(row.begin(), row.end(), data);
  }
  return out;
}

namespace {

double wall_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double cpu_s() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

}  // namespace

StepTimer::StepTimer() : wall_start_s_(wall_s()), cpu_start_s_(cpu_s()) {}

void StepTimer::finish(WorkloadResult& result, bool timed) const {
  const double wall = wall_s() - wall_start_s_, cpu = cpu_s() - cpu_start_s_;
  if (!timed) return;
  result.step_s.push_back(wall);
  result.step_cpu_s.push_back(cpu);
}

namespace {

/// A 1024^3 float32 matmul, the machine's reachable peak for the MFU.
WorkloadResult run_sgemm(const BenchArgs& args) {
  const at::Tensor a = at::randn({1024, 1024}), b = at::randn({1024, 1024});
  at::Tensor c = at::empty({1024, 1024});
  WorkloadResult result;
  result.flops_per_step = 2.0 * 1024 * 1024 * 1024;
  for (int64_t step = 0; step < args.warmup + std::max<int64_t>(args.steps, 10); ++step) {
    const StepTimer timer;
    at::mm_out(c, a, b);
    timer.finish(result, step >= args.warmup);
  }
  return result;
}

}  // namespace
}  // namespace trl::bench

int main(int argc, char** argv) {
  using namespace trl::bench;
  BenchArgs args;
  std::string out_path;
  CLI::App app("trl-host benchmark workloads (bench/README.md)");
  app.add_option("--workload", args.workload, "dpo, grpo, generate or sgemm")
      ->required()
      ->check(CLI::IsMember({"dpo", "grpo", "generate", "sgemm"}));
  app.add_option("--model", args.model_dir, "HF model directory");
  app.add_option("--inputs", args.inputs, "inputs.json from bench/make_inputs.py");
  app.add_option("--steps", args.steps, "timed steps")->check(CLI::PositiveNumber);
  app.add_option("--warmup", args.warmup, "untimed steps first (the first two are checked)")->check(CLI::NonNegativeNumber);
  app.add_option("--threads", args.threads, "intra-op threads")->check(CLI::PositiveNumber);
  app.add_option("--out", out_path, "result JSON")->required();
  app.add_flag("--bf16", args.bf16, "dpo: bf16 mixed precision (autocast; float32 weights and optimizer state)");
  app.add_option("--torch-dtype", args.torch_dtype, "dpo: weight dtype")->check(CLI::IsMember({"float32", "bfloat16"}));
  std::string profile_path;
  app.add_option("--profile", profile_path,
                 "also write a Chrome trace of every LibTorch op of the run to this file (bench/profile_ops.py "
                 "sums it per op); the timings then include the profiler's overhead");
  CLI11_PARSE(app, argc, argv);

  try {
    at::set_num_threads(static_cast<int>(args.threads));
    at::manual_seed(0);
    nlohmann::json out = {{"impl", "trl-host"}, {"workload", args.workload}, {"threads", at::get_num_threads()},
                          {"torch", TORCH_VERSION}, {"bf16", args.bf16}, {"torch_dtype", args.torch_dtype}};
    // What host/src/process_defaults.cpp set before libgomp started (or what the caller set): "unset" is
    // libgomp's default. scripts/bench.sh gives the tuned peer the same.
    for (const auto& [key, name] :
         {std::pair{"omp_wait_policy", "OMP_WAIT_POLICY"}, {"gomp_spincount", "GOMP_SPINCOUNT"}}) {
      const char* value = std::getenv(name);
      out[key] = value != nullptr ? value : "unset";
    }
    WorkloadResult result;
    std::unique_ptr<torch::autograd::profiler::RecordProfile> profile;
    if (!profile_path.empty()) profile = std::make_unique<torch::autograd::profiler::RecordProfile>(profile_path);
    if (args.workload == "sgemm") {
      result = run_sgemm(args);
    } else {
      std::ifstream in(args.inputs);
      if (!in) throw std::runtime_error(args.inputs + ": cannot open");
      const nlohmann::json inputs = nlohmann::json::parse(in);
      out["params"] = trl::ModelConfig::load(args.model_dir).num_parameters();
      if (args.workload == "dpo") result = run_dpo(args, inputs);
      else if (args.workload == "grpo") result = run_grpo(args, inputs);
      else result = run_generate(args, inputs);
    }
    profile.reset();  // writes the trace
    out["step_s"] = result.step_s;
    out["step_cpu_s"] = result.step_cpu_s;
    if (result.tokens_per_step > 0) out["tokens_per_step"] = result.tokens_per_step;
    if (result.flops_per_step > 0) out["flops_per_step"] = result.flops_per_step;
    out["check"] = result.check;
    struct rusage usage {};
    getrusage(RUSAGE_SELF, &usage);
    out["peak_rss_mb"] = static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
    std::ofstream(out_path) << out.dump() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "trl_bench " << args.workload << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}
