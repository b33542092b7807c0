// GRPO's RepeatSampler and buffer split as pure index math (spec §3.1, §5 items 13 and 20).
#include "grpo_sampler.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "trl/sdk/error.h"

namespace trl::gfpo {

namespace {

std::vector<int64_t> to_vector(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kLong).contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

}  // namespace

RepeatSampler::RepeatSampler(int64_t num_prompts, int64_t num_generations, int64_t generation_batch_size,
                             int64_t steps_per_generation, int64_t num_iterations, bool shuffle, uint64_t seed)
    : num_prompts_(num_prompts),
      num_generations_(num_generations),
      prompts_per_generation_(num_generations > 0 ? generation_batch_size / num_generations : 0),
      steps_per_generation_(steps_per_generation),
      num_iterations_(num_iterations),
      shuffle_(shuffle),
      seed_(seed) {
  TRL_INTERNAL_ASSERT(num_prompts >= 0, "num_prompts must be >= 0");
  TRL_INTERNAL_ASSERT(num_generations >= 1 && generation_batch_size >= num_generations &&
                          generation_batch_size % num_generations == 0,
                      "generation_batch_size must be a positive multiple of num_generations");
  TRL_INTERNAL_ASSERT(steps_per_generation >= 1 && num_iterations >= 1,
                      "steps_per_generation and num_iterations must be >= 1");
}

std::vector<int64_t> RepeatSampler::epoch_permutation(int64_t epoch) const {
  TRL_INTERNAL_ASSERT(epoch >= 0, "epoch must be >= 0");
  if (!shuffle_) {
    std::vector<int64_t> identity(static_cast<size_t>(num_prompts_));
    for (int64_t i = 0; i < num_prompts_; ++i) identity[static_cast<size_t>(i)] = i;
    return identity;
  }
  // One generator seeded once; each epoch's __iter__ draws the next randperm from it.
  at::Generator generator = at::detail::createCPUGenerator(seed_);
  at::Tensor permutation;
  for (int64_t e = 0; e <= epoch; ++e) permutation = at::randperm(num_prompts_, generator, at::kLong);
  return to_vector(permutation);
}

std::vector<int64_t> RepeatSampler::generation_prompts(int64_t generation) const {
  TRL_INTERNAL_ASSERT(generation >= 0, "generation index must be >= 0");
  const int64_t per_epoch = generations_per_epoch();
  if (per_epoch == 0) return {};
  const std::vector<int64_t> order = epoch_permutation(generation / per_epoch);
  const int64_t start = (generation % per_epoch) * prompts_per_generation_;
  return std::vector<int64_t>(order.begin() + start, order.begin() + start + prompts_per_generation_);
}

std::vector<int64_t> RepeatSampler::generation_rows(int64_t generation) const {
  std::vector<int64_t> rows;
  rows.reserve(static_cast<size_t>(prompts_per_generation_ * num_generations_));
  for (int64_t prompt : generation_prompts(generation))
    rows.insert(rows.end(), static_cast<size_t>(num_generations_), prompt);
  return rows;
}

std::vector<int64_t> RepeatSampler::local_generation_rows(int64_t generation, int64_t process,
                                                          int64_t num_processes) const {
  TRL_INTERNAL_ASSERT(num_processes >= 1 && process >= 0 && process < num_processes, "bad process index");
  const std::vector<int64_t> rows = generation_rows(generation);
  TRL_INTERNAL_ASSERT(rows.size() % static_cast<size_t>(num_processes) == 0,
                      "the generation batch must split evenly over the processes");
  const size_t local = rows.size() / static_cast<size_t>(num_processes);
  return std::vector<int64_t>(rows.begin() + static_cast<std::ptrdiff_t>(local * static_cast<size_t>(process)),
                              rows.begin() + static_cast<std::ptrdiff_t>(local * static_cast<size_t>(process + 1)));
}

std::vector<int64_t> RepeatSampler::micro_batch_rows(int64_t micro_step, int64_t buffered_rows) const {
  TRL_INTERNAL_ASSERT(micro_step >= 0 && buffered_rows >= 0, "micro_step and buffered_rows must be >= 0");
  // A seed per generation batch (splitmix-style mixing), so every micro-step's rows are recomputable.
  const uint64_t mixed = seed_ + 0x9E3779B97F4A7C15ULL * static_cast<uint64_t>(generation_index(micro_step) + 1);
  at::Generator generator = at::detail::createCPUGenerator(mixed);
  const std::vector<int64_t> order = to_vector(at::randperm(buffered_rows, generator, at::kLong));
  const int64_t part = buffered_rows / steps_per_generation_;
  const int64_t start = chunk_index(micro_step) * part;
  return std::vector<int64_t>(order.begin() + start, order.begin() + start + part);
}

}  // namespace trl::gfpo
