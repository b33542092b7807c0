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

int64_t EpochSampler::batches_per_epoch() const {
  return drop_last_ ? n_ / batch_size_ : (n_ + batch_size_ - 1) / batch_size_;
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
  const int64_t first = (batch_index % batches_per_epoch()) * batch_size_;
  const int64_t last = std::min(first + batch_size_, n_);
  std::lock_guard<std::mutex> lock(cache_->mutex);
  if (cache_->epoch != epoch) {
    cache_->order = epoch_order(epoch);
    cache_->epoch = epoch;
  }
  return std::vector<int64_t>(cache_->order.begin() + first, cache_->order.begin() + last);
}

}  // namespace trl
