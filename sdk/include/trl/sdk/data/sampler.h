// trl/sdk/data/sampler.h: seeded, stateless batch order, so a resumed run sees exactly the same data.
//
// The order is Hugging Face Trainer's (through accelerate's SeedableRandomSampler): epoch e visits the
// examples in torch.randperm(n, generator=torch.Generator().manual_seed(seed + e)) order, cut into
// consecutive batches. LibTorch's CPU generator is the same code as PyTorch's, so a run here and a
// TRL run with the same seed see the same batches.
//
// Data parallel (sharded()): as accelerate's BatchSamplerShard, the epoch's order is cut into global
// batches of world_size x batch_size, and rank r takes the r-th batch_size slice of each, so W ranks
// with batch b see exactly the rows of one process with batch W x b. Without drop_last, an incomplete
// last global batch is completed from the start of the epoch's order (accelerate's even_batches), so
// every rank gets a full batch and the ranks stay in step.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace trl {

/// Splits each epoch's permutation of [0, n) into batches; batch k of the run is a pure function of
/// (n, batch_size, seed, k), so resuming needs no saved sampler state. Copies share a cache of the
/// current epoch's order; all methods are const and safe to call from several threads.
class EpochSampler {
 public:
  /// `n` examples (>= 1), `batch_size` per batch (>= 1), shuffled with `seed` (a new permutation each
  /// epoch) unless shuffle is false; drop_last drops each epoch's incomplete last batch (then n must be
  /// >= batch_size). Throws ConfigError otherwise.
  EpochSampler(int64_t n, int64_t batch_size, uint64_t seed, bool shuffle = true, bool drop_last = false);
  /// This sampler's order, sharded for data parallelism: rank `rank` of `world_size` (1 <= world_size,
  /// 0 <= rank < world_size) gets its slice of each global batch of world_size x batch_size.
  /// Throws ConfigError when drop_last leaves no complete global batch.
  EpochSampler sharded(int64_t rank, int64_t world_size) const;
  /// Batches in one epoch: ceil(n / (world_size x batch_size)), or floor with drop_last.
  int64_t batches_per_epoch() const;
  /// Indices of the run's `batch_index`-th batch (0-based, counting across epochs); `batch_index` >= 0.
  /// Sharded: this rank's slice of that global batch, always batch_size indices.
  std::vector<int64_t> batch(int64_t batch_index) const;
  /// The epoch that batch `batch_index` falls in (0-based).
  int64_t epoch_of(int64_t batch_index) const;
  /// The order in which epoch `epoch` (>= 0) visits [0, n): a permutation, or 0..n-1 without shuffle.
  std::vector<int64_t> epoch_order(int64_t epoch) const;
  /// n.
  int64_t num_examples() const { return n_; }
  /// The batch size.
  int64_t batch_size() const { return batch_size_; }

 private:
  struct Cache;
  int64_t n_;
  int64_t batch_size_;
  uint64_t seed_;
  bool shuffle_;
  bool drop_last_;
  int64_t rank_ = 0;        ///< this process's shard
  int64_t world_size_ = 1;  ///< shards per global batch
  std::shared_ptr<Cache> cache_;  ///< the last epoch's order (a pure function of the fields above)
};

}  // namespace trl
