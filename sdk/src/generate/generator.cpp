// Batched generation (trl/sdk/generate/generator.h): left-padded prefill through a preallocated KV
// cache, then one token per unfinished row per step. Letters: B rows still running, P longest prompt,
// V vocab, H hidden.
#include "trl/sdk/generate/generator.h"

#include <algorithm>
#include <string>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "core/kernel_dispatch.h"
#include "generation_threads.h"
#include "token_sampler.h"
#include "trl/sdk/error.h"
#include "trl/sdk/generate/logits_processors.h"
#include "trl/sdk/model/causal_lm.h"
#include "trl/sdk/model/kv_cache.h"

namespace trl {
namespace {

/// The growing batch without a cache: every step reruns the whole sequence (the reference path).
struct FullSequence {
  at::Tensor ids, mask;  // (B, P + max_new_tokens) buffers
  int64_t length = 0;
};

}  // namespace

GenerationResult generate(const CausalLM& model, const std::vector<std::vector<int64_t>>& prompts,
                          const SamplingParams& params) {
  check_sampling_params(params);
  const int64_t V = model.config().vocab_size;
  if (params.pad_token_id < 0 || params.pad_token_id >= V)
    throw ConfigError("generate", "pad_token_id", "expected an id in [0, " + std::to_string(V) + "), got " +
                                                      std::to_string(params.pad_token_id));
  const int64_t num_prompts = static_cast<int64_t>(prompts.size());
  GenerationResult result;
  result.completion_ids.resize(prompts.size());
  result.finished.assign(prompts.size(), false);
  if (num_prompts == 0 || params.max_new_tokens == 0) return result;

  int64_t P = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    if (prompts[i].empty()) throw ConfigError("generate", "prompts[" + std::to_string(i) + "]", "expected at least one token, got none");
    P = std::max<int64_t>(P, static_cast<int64_t>(prompts[i].size()));
  }
  c10::InferenceMode inference;
  const c10::Device device = model.device();
  // Small layers: prefill and decode on one thread (generation_threads.h).
  const ScopedGenerationThreads one_thread(use_cpu_kernels(device) && one_thread_generation(model.config()));
  const int64_t capacity = P + params.max_new_tokens;

  // Left padding: every row's last prompt token sits at column P - 1, where the first logits are read.
  at::Tensor ids = at::full({num_prompts, capacity}, params.pad_token_id, at::kLong);  // (B, P + N) on CPU
  at::Tensor mask = at::zeros({num_prompts, capacity}, at::kLong);
  for (int64_t r = 0; r < num_prompts; ++r) {
    const auto& prompt = prompts[static_cast<size_t>(r)];
    const int64_t n = static_cast<int64_t>(prompt.size());
    ids[r].narrow(0, P - n, n).copy_(at::tensor(prompt, at::kLong));
    mask[r].narrow(0, P - n, n).fill_(1);
  }
  ids = ids.to(device);
  mask = mask.to(device);

  at::Tensor seen;  // (B, V) bool: tokens a repetition penalty applies to (real prompt tokens, then output)
  if (params.repetition_penalty != 1.0) {
    at::Tensor counts = at::zeros({num_prompts, V}, ids.options());
    counts.scatter_add_(1, ids.narrow(1, 0, P), mask.narrow(1, 0, P));
    seen = counts.gt(0);
  }

  std::vector<int64_t> row_of(static_cast<size_t>(num_prompts));  // batch row -> prompt index
  for (int64_t r = 0; r < num_prompts; ++r) row_of[static_cast<size_t>(r)] = r;
  const at::Tensor ones = at::ones({num_prompts, 1}, ids.options());
  TokenSampler sampler(model, num_prompts, params);

  std::unique_ptr<KVCache> cache;
  FullSequence full{ids, mask, P};
  at::Tensor hidden;  // (B, H) last position
  sampler.draw_ahead(num_prompts);  // each step's draws run beside its forward pass (token_sampler.h)
  if (params.use_cache) {
    cache = std::make_unique<KVCache>(model, num_prompts, capacity);
    hidden = model.hidden_states(ids.narrow(1, 0, P), mask.narrow(1, 0, P), {}, cache.get()).select(1, P - 1);
  } else {
    hidden = model.hidden_states(ids.narrow(1, 0, P), mask.narrow(1, 0, P)).select(1, P - 1);
  }

  for (int64_t step = 0; step < params.max_new_tokens; ++step) {
    const at::Tensor next_cpu = sampler.next(hidden, seen);  // (B) int64, CPU
    const at::Tensor next = next_cpu.to(device);
    const int64_t* tokens = next_cpu.data_ptr<int64_t>();
    std::vector<int64_t> keep;
    for (size_t r = 0; r < row_of.size(); ++r) {
      const size_t prompt = static_cast<size_t>(row_of[r]);
      result.completion_ids[prompt].push_back(tokens[r]);
      const auto& eos = params.eos_token_ids;
      if (std::find(eos.begin(), eos.end(), tokens[r]) != eos.end()) result.finished[prompt] = true;
      else keep.push_back(static_cast<int64_t>(r));
    }
    if (keep.empty() || step + 1 == params.max_new_tokens) break;

    at::Tensor feed = next;  // (B)
    if (keep.size() < row_of.size()) {  // drop finished rows from the batch and the cache
      const at::Tensor index = at::tensor(keep, at::kLong).to(device);
      std::vector<int64_t> kept_rows;
      for (int64_t r : keep) kept_rows.push_back(row_of[static_cast<size_t>(r)]);
      row_of = std::move(kept_rows);
      feed = feed.index_select(0, index);
      if (seen.defined()) seen = seen.index_select(0, index);
      if (cache) cache->select_rows(index);
      else {
        full.ids = full.ids.index_select(0, index);
        full.mask = full.mask.index_select(0, index);
      }
    }
    const int64_t B = static_cast<int64_t>(row_of.size());
    if (seen.defined()) seen.scatter_(1, feed.unsqueeze(1), true);
    sampler.draw_ahead(B);
    if (cache) {
      hidden = model.hidden_states(feed.unsqueeze(1), ones.narrow(0, 0, B), {}, cache.get()).select(1, 0);
    } else {
      full.ids.select(1, full.length).copy_(feed);
      full.mask.select(1, full.length).fill_(1);
      ++full.length;
      hidden = model.hidden_states(full.ids.narrow(1, 0, full.length), full.mask.narrow(1, 0, full.length))
                   .select(1, full.length - 1);
    }
  }
  return result;
}

}  // namespace trl
