// trl/sdk/data/sampler.h: seeded, stateless batch order, so a resumed run sees exactly the same data.
#pragma once

#include <cstdint>
#include <vector>

namespace trl {

/// Splits each epoch's permutation of [0, n) into batches; batch k of the run is a pure function of
/// (seed, k), so resuming needs no saved sampler state.
class EpochSampler {
 public:
  /// `n` examples, `batch_size` per batch, shuffled with `seed` (a new permutation each epoch) unless
  /// shuffle is false; drop_last drops each epoch's incomplete last batch.
  EpochSampler(int64_t n, int64_t batch_size, uint64_t seed, bool shuffle = true, bool drop_last = false);
  /// Batches in one epoch.
  int64_t batches_per_epoch() const;
  /// Indices of the run's `batch_index`-th batch (0-based, counting across epochs).
  std::vector<int64_t> batch(int64_t batch_index) const;
  /// The epoch that batch `batch_index` falls in.
  int64_t epoch_of(int64_t batch_index) const;

 private:
  std::vector<int64_t> permutation(int64_t epoch) const;
  int64_t n_;
  int64_t batch_size_;
  uint64_t seed_;
  bool shuffle_;
  bool drop_last_;
};

}  // namespace trl
