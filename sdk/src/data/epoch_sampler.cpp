// The seeded, stateless batch order (trl/sdk/data/sampler.h).
//
// Hugging Face Trainer wraps its RandomSampler in accelerate's SeedableRandomSampler, which re-seeds a
// torch.Generator with (initial_seed + epoch) at the start of every epoch and yields
// torch.randperm(n, generator). Seeding LibTorch's CPU generator the same way and calling the same
// randperm kernel reproduces TRL's order exactly; tests/golden/make_data_sampler.py records it from
// Python for the test.
#include "trl/sdk/data/sampler.h"

#include <mutex>
#include <numeric>
#include <string>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/ops/randperm.h>

#include "trl/sdk/error.h"

namespace trl {

/// The last epoch's order, so consecutive batches of an epoch do not redo the O(n) permutation.
struct EpochSampler::Cache {
  std::mutex mutex;
  int64_t epoch = -1;
  std::vector<int64_t> order;
};

EpochSampler::EpochSampler(int64_t n, int64_t batch_size, uint64_t seed, bool shuffle, bool drop_last)
    : n_(n), batch_size_(batch_size), seed_(seed), shuffle_(shuffle), drop_last_(drop_last),
      cache_(std::make_shared<Cache>()) {
  if (n < 1) throw ConfigError("sampler: the dataset has no examples");
  if (batch_size < 1) throw ConfigError("sampler: batch size must be >= 1, got " + std::to_string(batch_size));
  if (drop_last && n < batch_size)
    throw ConfigError("sampler: the dataset has " + std::to_string(n) + " examples, fewer than one batch of " +
                      std::to_string(batch_size) + ", and dataloader_drop_last would drop them all");
}

EpochSampler EpochSampler::sharded(int64_t rank, int64_t world_size) const {
  if (world_size < 1 || rank < 0 || rank >= world_size)
    throw ConfigError("sampler: rank " + std::to_string(rank) + " of world size " + std::to_string(world_size) +
                      " is out of range");
  if (drop_last_ && n_ < batch_size_ * world_size)
    throw ConfigError("sampler: the dataset has " + std::to_string(n_) + " examples, fewer than one global batch of " +
                      std::to_string(batch_size_ * world_size) + " (" + std::to_string(world_size) + " processes x " +
                      std::to_string(batch_size_) + "), and dataloader_drop_last would drop them all");
  EpochSampler copy(n_, batch_size_, seed_, shuffle_, drop_last_);
  copy.rank_ = rank;
  copy.world_size_ = world_size;
  return copy;
}

int64_t EpochSampler::batches_per_epoch() const {
  const int64_t global = batch_size_ * world_size_;
  return drop_last_ ? n_ / global : (n_ + global - 1) / global;
}

int64_t EpochSampler::epoch_of(int64_t batch_index) const {
  TRL_INTERNAL_ASSERT(batch_index >= 0, "negative batch index " + std::to_string(batch_index));
  return batch_index / batches_per_epoch();
}

std::vector<int64_t> EpochSampler::epoch_order(int64_t epoch) const {
  TRL_INTERNAL_ASSERT(epoch >= 0, "negative epoch " + std::to_string(epoch));
  std::vector<int64_t> order(static_cast<size_t>(n_));
  if (!shuffle_) {
    std::iota(order.begin(), order.end(), int64_t{0});
    return order;
  }
  // SeedableRandomSampler: generator.manual_seed(initial_seed + epoch); torch.randperm(n, generator).
  at::Generator generator = at::detail::createCPUGenerator(seed_ + static_cast<uint64_t>(epoch));
  const at::Tensor perm = at::randperm(n_, generator, at::TensorOptions().dtype(at::kLong));  // (n,)
  const int64_t* data = perm.data_ptr<int64_t>();
  std::copy(data, data + n_, order.begin());
  return order;
}

std::vector<int64_t> EpochSampler::batch(int64_t batch_index) const {
  const int64_t epoch = epoch_of(batch_index);
  const int64_t first = (batch_index % batches_per_epoch()) * batch_size_ * world_size_ + rank_ * batch_size_;
  std::lock_guard<std::mutex> lock(cache_->mutex);
  if (cache_->epoch != epoch) {
    cache_->order = epoch_order(epoch);
    cache_->epoch = epoch;
  }
  if (world_size_ == 1) {
    const int64_t last = std::min(first + batch_size_, n_);
    return std::vector<int64_t>(cache_->order.begin() + first, cache_->order.begin() + last);
  }
  // Positions past the end wrap to the epoch's start, as accelerate's even_batches completes the last
  // global batch with the first examples of the epoch (the same rows for n >= world_size x batch_size).
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(batch_size_));
  for (int64_t p = first; p < first + batch_size_; ++p) out.push_back(cache_->order[static_cast<size_t>(p % n_)]);
  return out;
}

}  // namespace trl
