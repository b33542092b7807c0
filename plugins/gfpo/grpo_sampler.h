// grpo_sampler.h: which prompts and rows each GRPO micro-step trains on (spec §3.1 "Sampler" and
// "Generation cadence", §5 items 13 and 20).
//
// TRL's RepeatSampler shuffles the prompt indices (torch.randperm with a generator seeded once with the
// run's seed, drawn again each epoch), cuts them into chunks of generation_batch_size / G prompts, drops an
// incomplete last chunk, and emits each chunk num_iterations * steps_per_generation times, every prompt
// repeated G times in a row. The trainer generates for the chunk at every micro-step that is a multiple of
// steps_per_generation * num_iterations, shuffles the generated rows, splits them into steps_per_generation
// equal parts (remainder dropped) and uses part (step mod steps_per_generation) at each micro-step.
//
// Here every answer is a pure function of the micro-step index, so a resumed run needs no saved sampler
// state. The prompt order is bit-identical to TRL's (the same LibTorch randperm with the same seed). The
// row shuffle of a generation batch is seeded too (TRL uses the global torch RNG there).
#pragma once

#include <cstdint>
#include <vector>

namespace trl::gfpo {

/// Index math of GRPO's batching: prompts per generation, micro-steps per epoch, chunks of the buffer.
class RepeatSampler {
 public:
  /// `num_prompts` dataset rows; G = num_generations; generation_batch_size rows over all processes (a
  /// multiple of G); shuffle with `seed` (TRL: args.seed) unless shuffle is false.
  RepeatSampler(int64_t num_prompts, int64_t num_generations, int64_t generation_batch_size,
                int64_t steps_per_generation, int64_t num_iterations, bool shuffle, uint64_t seed);

  /// Prompts per generation batch: generation_batch_size / G.
  int64_t prompts_per_generation() const { return prompts_per_generation_; }
  /// Generation batches per epoch: complete chunks only (0 if the dataset is smaller than one chunk).
  int64_t generations_per_epoch() const { return num_prompts_ / prompts_per_generation_; }
  /// Micro-steps (training_step calls) per epoch: generations_per_epoch * num_iterations * steps_per_generation.
  int64_t micro_steps_per_epoch() const { return generations_per_epoch() * generate_every(); }
  /// Micro-steps served by one generation batch: steps_per_generation * num_iterations.
  int64_t generate_every() const { return steps_per_generation_ * num_iterations_; }

  /// Whether the trainer generates at `micro_step` (0-based, counted since training began).
  bool generates_at(int64_t micro_step) const { return micro_step % generate_every() == 0; }
  /// The generation batch (0-based, counted across epochs) that `micro_step` trains on.
  int64_t generation_index(int64_t micro_step) const { return micro_step / generate_every(); }
  /// The buffer part that `micro_step` trains on: micro_step mod steps_per_generation.
  int64_t chunk_index(int64_t micro_step) const { return micro_step % steps_per_generation_; }

  /// The epoch's prompt order (TRL's RepeatSampler.__iter__): a permutation of [0, num_prompts), or the
  /// identity without shuffling. Epoch e is the (e+1)-th randperm drawn from the seeded generator.
  std::vector<int64_t> epoch_permutation(int64_t epoch) const;
  /// The distinct prompts of generation batch `generation` (prompts_per_generation of them, in order).
  std::vector<int64_t> generation_prompts(int64_t generation) const;
  /// The dataset row of every row of generation batch `generation`: each prompt repeated G times in a row
  /// (generation_batch_size entries), exactly the list TRL passes to training_step.
  std::vector<int64_t> generation_rows(int64_t generation) const;
  /// Process `process`'s slice of those rows when the batch is spread over `num_processes` equal parts.
  std::vector<int64_t> local_generation_rows(int64_t generation, int64_t process, int64_t num_processes) const;

  /// Row indices into a buffered batch of `buffered_rows` rows that micro-step `micro_step` trains on: the
  /// rows are permuted (seeded by seed and generation index) and cut into steps_per_generation parts of
  /// floor(buffered_rows / steps_per_generation) rows; the remainder is dropped, as TRL's split_tensor_dict.
  /// `buffered_rows` is the local row count after any GFPO filtering.
  std::vector<int64_t> micro_batch_rows(int64_t micro_step, int64_t buffered_rows) const;

 private:
  int64_t num_prompts_;
  int64_t num_generations_;
  int64_t prompts_per_generation_;
  int64_t steps_per_generation_;
  int64_t num_iterations_;
  bool shuffle_;
  uint64_t seed_;
};

}  // namespace trl::gfpo
