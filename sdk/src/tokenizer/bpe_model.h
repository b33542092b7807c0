// The BPE model of a byte-level tokenizer.json: vocabulary, merges by rank, and the word cache.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace trl::tokenizer {

/// Byte-level BPE over one pre-tokenized word. Works on raw bytes: the initial symbols are the ids of the
/// 256 byte-level symbols, so no byte-level string is built while encoding. Thread-safe.
class BpeModel {
 public:
  /// `token_to_id` is model.vocab; `merges` are model.merges in rank order (rank = index); with
  /// `ignore_merges` (Llama-3) a word that is itself in the vocabulary is one token. Throws
  /// std::invalid_argument naming the key ("model.merges[12]: ...") when a merge or a byte symbol is
  /// missing from the vocabulary.
  BpeModel(const std::unordered_map<std::string, int64_t>& token_to_id,
           const std::vector<std::pair<std::string, std::string>>& merges, bool ignore_merges);
  ~BpeModel();

  /// Appends the ids of `word` (raw bytes, non-empty) to `out`: the lowest-ranked adjacent pair is merged
  /// first, leftmost on ties, as Hugging Face's Word::merge_all does. O(n log n) in the word's length.
  void encode_word(std::string_view word, std::vector<int64_t>& out) const;

 private:
  struct Merge {
    int32_t rank;
    int32_t new_id;
  };
  struct CacheShard {
    std::mutex mutex;
    std::unordered_map<std::string, std::vector<int32_t>> words;
  };

  void merge_word(std::string_view word, std::vector<int32_t>& ids) const;
  static uint64_t pair_key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  }

  std::array<int32_t, 256> byte_id_{};                         ///< id of each byte's symbol
  std::unordered_map<std::string, int32_t> word_id_;           ///< raw bytes of each vocab token -> id
  std::unordered_map<uint64_t, Merge> merges_;                 ///< (left id, right id) -> rank, merged id
  bool ignore_merges_ = false;
  static constexpr size_t kCacheShards = 16;
  static constexpr size_t kShardCapacity = 4096;               ///< words per shard; then no more inserts
  static constexpr size_t kMaxCachedWordBytes = 256;           ///< longer words are not cached (as HF)
  mutable std::array<CacheShard, kCacheShards> cache_;
};

}  // namespace trl::tokenizer
