// BlockPool: the fixed set of KV cache blocks, their reference counts, the free list in LRU
// order, and the prefix-cache index (block hash -> block). Owned by the KvCacheManager; engine
// thread only.
//
// Free list: blocks with reference count 0, least recently freed at the head. Allocate takes
// from the head; a cached block taken that way is evicted (its hash forgotten). A free block
// that still holds a cached hash can be revived by Touch (it leaves the free list).
// At construction the free list is 0, 1, ..., num_blocks - 1.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "engine/base/status.h"
#include "engine/kv/block_hash.h"

namespace specd {

class BlockPool {
 public:
  BlockPool(int32_t num_blocks, int32_t block_size);

  int32_t num_blocks() const;
  int32_t num_free_blocks() const;

  // Pops n blocks from the head of the free list, evicting any cached hash they hold, each with
  // reference count 1. Precondition: n <= num_free_blocks().
  std::vector<int32_t> Allocate(int32_t n);

  // The cached block registered under `hash` whose token ids equal `tokens`, or nullopt.
  std::optional<int32_t> FindCached(const BlockHash& hash, std::span<const int32_t> tokens) const;

  // Adds one reference to each block; a block at count 0 leaves the free list.
  void Touch(std::span<const int32_t> blocks);

  // Drops one reference from each block, in order; a block reaching 0 is appended to the free
  // list tail (it stays findable through its hash until evicted).
  void Release(std::span<const int32_t> blocks);

  // Registers a full, computed block under `hash` with its `tokens` (block_size ids). A block
  // that is already cached keeps its first registration; a hash already held by another block
  // is left pointing at that block.
  void MarkCached(int32_t block, const BlockHash& hash, std::span<const int32_t> tokens);

  int32_t ref_count(int32_t block) const;
  bool is_cached(int32_t block) const;
  // The free list from head (next to allocate) to tail. For tests and invariant checks.
  std::vector<int32_t> FreeList() const;

  // Free-list links consistent, every free block at count 0 and every other above 0, no
  // negative counts, the hash index and the blocks' hashes agree.
  Status CheckInvariants() const;

 private:
  // Intrusive doubly linked free list over block ids (kNone ends it): O(1) removal on Touch.
  static constexpr int32_t kNone = -1;
  struct Block {
    int32_t ref_count = 0;
    int32_t prev = kNone;
    int32_t next = kNone;
    bool in_free_list = false;
    std::optional<BlockHash> hash;
    std::vector<int32_t> tokens;  // the ids a cached block holds
  };

  void PushBack(int32_t block);
  void Unlink(int32_t block);
  void Evict(int32_t block);

  int32_t block_size_;
  std::vector<Block> blocks_;
  int32_t head_ = kNone;
  int32_t tail_ = kNone;
  int32_t num_free_ = 0;
  std::unordered_map<BlockHash, int32_t, BlockHashHasher> cached_;
};

}  // namespace specd
