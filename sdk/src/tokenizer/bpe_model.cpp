// Byte-level BPE merges (see bpe_model.h).
#include "tokenizer/bpe_model.h"

#include <functional>
#include <queue>
#include <stdexcept>

#include "tokenizer/byte_level_alphabet.h"

namespace trl::tokenizer {

BpeModel::BpeModel(const std::unordered_map<std::string, int64_t>& token_to_id,
                   const std::vector<std::pair<std::string, std::string>>& merges, bool ignore_merges)
    : ignore_merges_(ignore_merges) {
  for (int b = 0; b < 256; ++b) {
    const std::string symbol = bytes_to_token(std::string(1, static_cast<char>(b)));
    const auto it = token_to_id.find(symbol);
    if (it == token_to_id.end()) {
      throw std::invalid_argument("model.vocab: the byte-level symbol \"" + symbol + "\" (byte " + std::to_string(b) +
                                  ") is missing; a byte-level BPE vocabulary must hold all 256");
    }
    byte_id_[static_cast<size_t>(b)] = static_cast<int32_t>(it->second);
  }
  if (ignore_merges_) {
    word_id_.reserve(token_to_id.size());
    for (const auto& [token, id] : token_to_id) {
      // Tokens outside the byte-level alphabet can never be a pre-tokenized word; they stay reachable by id.
      if (auto bytes = token_to_bytes(token)) word_id_.emplace(std::move(*bytes), static_cast<int32_t>(id));
    }
  }
  merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    // Named references, not a structured binding: C++17 does not let a lambda capture bindings (clang refuses).
    const std::string& left = merges[rank].first;
    const std::string& right = merges[rank].second;
    const auto where = [&] { return "model.merges[" + std::to_string(rank) + "] (\"" + left + "\", \"" + right + "\")"; };
    const auto l = token_to_id.find(left);
    const auto r = token_to_id.find(right);
    std::string joined;
    joined.reserve(left.size() + right.size());
    joined.append(left).append(right);
    const auto merged = token_to_id.find(joined);
    if (l == token_to_id.end() || r == token_to_id.end()) {
      throw std::invalid_argument(where() + ": a part is not in model.vocab");
    }
    if (merged == token_to_id.end()) throw std::invalid_argument(where() + ": the merged token is not in model.vocab");
    // A repeated pair keeps its last rank, as Hugging Face's HashMap collect and tokenizers.js do.
    merges_[pair_key(static_cast<int32_t>(l->second), static_cast<int32_t>(r->second))] =
        Merge{static_cast<int32_t>(rank), static_cast<int32_t>(merged->second)};
  }
}

BpeModel::~BpeModel() = default;

void BpeModel::encode_word(std::string_view word, std::vector<int64_t>& out) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    const auto it = word_id_.find(std::string(word));
    if (it != word_id_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  const bool cacheable = word.size() < kMaxCachedWordBytes;
  CacheShard& shard = cache_[std::hash<std::string_view>{}(word) % kCacheShards];
  if (cacheable) {
    std::lock_guard<std::mutex> lock(shard.mutex);
    const auto it = shard.words.find(std::string(word));
    if (it != shard.words.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> ids;
  merge_word(word, ids);
  out.insert(out.end(), ids.begin(), ids.end());
  if (cacheable) {
    std::lock_guard<std::mutex> lock(shard.mutex);
    if (shard.words.size() < kShardCapacity) shard.words.emplace(std::string(word), std::move(ids));
  }
}

void BpeModel::merge_word(std::string_view word, std::vector<int32_t>& ids) const {
  struct Symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
    bool alive;
  };
  struct Candidate {
    int32_t rank;
    int32_t pos;
    int32_t new_id;
    // std::priority_queue is a max-heap: "less" means a higher rank, then a later position.
    bool operator<(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  const auto n = static_cast<int32_t>(word.size());
  std::vector<Symbol> symbols(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) {
    symbols[static_cast<size_t>(i)] =
        Symbol{byte_id_[static_cast<unsigned char>(word[static_cast<size_t>(i)])], i - 1, i + 1 < n ? i + 1 : -1, true};
  }
  std::priority_queue<Candidate> queue;
  const auto push_pair = [&](int32_t pos) {
    const Symbol& left = symbols[static_cast<size_t>(pos)];
    if (left.next < 0) return;
    const auto it = merges_.find(pair_key(left.id, symbols[static_cast<size_t>(left.next)].id));
    if (it != merges_.end()) queue.push(Candidate{it->second.rank, pos, it->second.new_id});
  };
  for (int32_t i = 0; i + 1 < n; ++i) push_pair(i);
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[static_cast<size_t>(top.pos)];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = symbols[static_cast<size_t>(left.next)];
    // A stale entry: one of its symbols was merged into something else since it was queued.
    const auto it = merges_.find(pair_key(left.id, right.id));
    if (it == merges_.end() || it->second.new_id != top.new_id) continue;
    left.id = top.new_id;
    right.alive = false;
    left.next = right.next;
    if (left.next >= 0) symbols[static_cast<size_t>(left.next)].prev = top.pos;
    if (left.prev >= 0) push_pair(left.prev);
    push_pair(top.pos);
  }
  for (int32_t i = 0; i >= 0; i = symbols[static_cast<size_t>(i)].next) ids.push_back(symbols[static_cast<size_t>(i)].id);
}

}  // namespace trl::tokenizer
