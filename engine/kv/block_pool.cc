// BlockPool: reference counts, the LRU free list and the prefix-cache index (see block_pool.h).
//
//   free list (head -> tail):   head_ -> 3 <-> 4 <-> 2 <-> 0 <- tail_
//   Allocate pops at the head (evicting a cached hash); Release appends at the tail;
//   Touch unlinks a free block wherever it sits (a prefix-cache hit revives it).
#include "engine/kv/block_pool.h"

#include <algorithm>
#include <string>

#include "engine/base/check.h"

namespace specd {
namespace {

// The invariant checks below are templates over the pool's private Block type.

// Walks the free list from the head: every link agrees with its neighbour, every block on it is
// marked free, it ends at the tail and holds exactly num_free blocks.
template <typename Blocks>
Status CheckFreeListLinks(const Blocks& blocks, int32_t head, int32_t tail, int32_t num_free,
                          int32_t none) {
  int32_t count = 0;
  int32_t prev = none;
  for (int32_t block = head; block != none; block = blocks[static_cast<size_t>(block)].next) {
    if (block < 0 || static_cast<size_t>(block) >= blocks.size() ||
        count >= static_cast<int32_t>(blocks.size())) {
      return InternalError("free list runs off the pool or loops at block " +
                           std::to_string(block));
    }
    const auto& entry = blocks[static_cast<size_t>(block)];
    if (entry.prev != prev) {
      return InternalError("free block " + std::to_string(block) + " has prev " +
                           std::to_string(entry.prev) + ", expected " + std::to_string(prev));
    }
    if (!entry.in_free_list) {
      return InternalError("block " + std::to_string(block) + " is linked but not marked free");
    }
    prev = block;
    ++count;
  }
  if (prev != tail) {
    return InternalError("free list ends at " + std::to_string(prev) + " but tail is " +
                         std::to_string(tail));
  }
  if (count != num_free) {
    return InternalError("free list holds " + std::to_string(count) + " blocks, counted " +
                         std::to_string(num_free));
  }
  return OkStatus();
}

// No negative count; a block is on the free list exactly when its count is 0.
template <typename Blocks>
Status CheckRefCounts(const Blocks& blocks) {
  for (size_t block = 0; block < blocks.size(); ++block) {
    const auto& entry = blocks[block];
    if (entry.ref_count < 0) {
      return InternalError("block " + std::to_string(block) + " has reference count " +
                           std::to_string(entry.ref_count));
    }
    if (entry.in_free_list != (entry.ref_count == 0)) {
      return InternalError("block " + std::to_string(block) + " has reference count " +
                           std::to_string(entry.ref_count) +
                           (entry.in_free_list ? " but is free" : " but is not free"));
    }
  }
  return OkStatus();
}

// The index maps each hash to the one block holding it, and only hashed blocks hold tokens.
template <typename Blocks, typename Index>
Status CheckHashIndex(const Blocks& blocks, const Index& cached, int32_t block_size) {
  for (const auto& [hash, block] : cached) {
    if (block < 0 || static_cast<size_t>(block) >= blocks.size()) {
      return InternalError("hash index points at block " + std::to_string(block));
    }
    const auto& entry = blocks[static_cast<size_t>(block)];
    if (!entry.hash.has_value() || !(*entry.hash == hash)) {
      return InternalError("hash index points at block " + std::to_string(block) +
                           ", which holds another hash");
    }
    if (entry.tokens.size() != static_cast<size_t>(block_size)) {
      return InternalError("cached block " + std::to_string(block) + " holds " +
                           std::to_string(entry.tokens.size()) + " token ids");
    }
  }
  for (size_t block = 0; block < blocks.size(); ++block) {
    const auto& entry = blocks[block];
    if (entry.hash.has_value()) {
      const auto it = cached.find(*entry.hash);
      if (it == cached.end() || static_cast<size_t>(it->second) != block) {
        return InternalError("cached block " + std::to_string(block) + " is not indexed");
      }
    } else if (!entry.tokens.empty()) {
      return InternalError("uncached block " + std::to_string(block) + " holds token ids");
    }
  }
  return OkStatus();
}

}  // namespace

BlockPool::BlockPool(int32_t num_blocks, int32_t block_size)
    : block_size_(block_size), blocks_(static_cast<size_t>(std::max(num_blocks, 0))) {
  SPECD_CHECK(num_blocks >= 0) << "num_blocks " << num_blocks;
  SPECD_CHECK(block_size > 0) << "block_size " << block_size;
  for (int32_t block = 0; block < num_blocks; ++block) PushBack(block);
}

int32_t BlockPool::num_blocks() const { return static_cast<int32_t>(blocks_.size()); }

int32_t BlockPool::num_free_blocks() const { return num_free_; }

std::vector<int32_t> BlockPool::Allocate(int32_t n) {
  SPECD_CHECK(n >= 0 && n <= num_free_) << "allocating " << n << " of " << num_free_ << " free";
  std::vector<int32_t> allocated;
  allocated.reserve(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) {
    const int32_t block = head_;
    Unlink(block);
    if (blocks_[static_cast<size_t>(block)].hash.has_value()) Evict(block);
    blocks_[static_cast<size_t>(block)].ref_count = 1;
    allocated.push_back(block);
  }
  return allocated;
}

std::optional<int32_t> BlockPool::FindCached(const BlockHash& hash,
                                             std::span<const int32_t> tokens) const {
  const auto it = cached_.find(hash);
  if (it == cached_.end()) return std::nullopt;
  const std::vector<int32_t>& held = blocks_[static_cast<size_t>(it->second)].tokens;
  if (!std::equal(held.begin(), held.end(), tokens.begin(), tokens.end())) return std::nullopt;
  return it->second;
}

void BlockPool::Touch(std::span<const int32_t> blocks) {
  for (const int32_t block : blocks) {
    SPECD_CHECK(block >= 0 && block < num_blocks()) << "block " << block;
    Block& entry = blocks_[static_cast<size_t>(block)];
    if (entry.ref_count == 0) Unlink(block);
    ++entry.ref_count;
  }
}

void BlockPool::Release(std::span<const int32_t> blocks) {
  for (const int32_t block : blocks) {
    SPECD_CHECK(block >= 0 && block < num_blocks()) << "block " << block;
    Block& entry = blocks_[static_cast<size_t>(block)];
    SPECD_CHECK(entry.ref_count > 0) << "releasing free block " << block;
    if (--entry.ref_count == 0) PushBack(block);
  }
}

void BlockPool::MarkCached(int32_t block, const BlockHash& hash, std::span<const int32_t> tokens) {
  SPECD_CHECK(block >= 0 && block < num_blocks()) << "block " << block;
  SPECD_CHECK(static_cast<int64_t>(tokens.size()) == block_size_)
      << "block " << block << " cached with " << tokens.size() << " tokens";
  Block& entry = blocks_[static_cast<size_t>(block)];
  SPECD_CHECK(entry.ref_count > 0) << "caching free block " << block;
  if (entry.hash.has_value()) return;                // keeps its first registration
  if (!cached_.emplace(hash, block).second) return;  // another block already holds the hash
  entry.hash = hash;
  entry.tokens.assign(tokens.begin(), tokens.end());
}

int32_t BlockPool::ref_count(int32_t block) const {
  SPECD_CHECK(block >= 0 && block < num_blocks()) << "block " << block;
  return blocks_[static_cast<size_t>(block)].ref_count;
}

bool BlockPool::is_cached(int32_t block) const {
  SPECD_CHECK(block >= 0 && block < num_blocks()) << "block " << block;
  return blocks_[static_cast<size_t>(block)].hash.has_value();
}

std::vector<int32_t> BlockPool::FreeList() const {
  std::vector<int32_t> order;
  order.reserve(static_cast<size_t>(num_free_));
  for (int32_t block = head_; block != kNone && order.size() <= blocks_.size();
       block = blocks_[static_cast<size_t>(block)].next) {
    order.push_back(block);
  }
  return order;
}

Status BlockPool::CheckInvariants() const {
  SPECD_RETURN_IF_ERROR(CheckFreeListLinks(blocks_, head_, tail_, num_free_, kNone));
  SPECD_RETURN_IF_ERROR(CheckRefCounts(blocks_));
  return CheckHashIndex(blocks_, cached_, block_size_);
}

void BlockPool::PushBack(int32_t block) {
  Block& entry = blocks_[static_cast<size_t>(block)];
  SPECD_CHECK(!entry.in_free_list) << "block " << block << " freed twice";
  entry.prev = tail_;
  entry.next = kNone;
  if (tail_ == kNone) {
    head_ = block;
  } else {
    blocks_[static_cast<size_t>(tail_)].next = block;
  }
  tail_ = block;
  entry.in_free_list = true;
  ++num_free_;
}

void BlockPool::Unlink(int32_t block) {
  Block& entry = blocks_[static_cast<size_t>(block)];
  SPECD_CHECK(entry.in_free_list) << "block " << block << " is not free";
  if (entry.prev == kNone) {
    head_ = entry.next;
  } else {
    blocks_[static_cast<size_t>(entry.prev)].next = entry.next;
  }
  if (entry.next == kNone) {
    tail_ = entry.prev;
  } else {
    blocks_[static_cast<size_t>(entry.next)].prev = entry.prev;
  }
  entry.prev = kNone;
  entry.next = kNone;
  entry.in_free_list = false;
  --num_free_;
}

void BlockPool::Evict(int32_t block) {
  Block& entry = blocks_[static_cast<size_t>(block)];
  const auto it = cached_.find(*entry.hash);
  SPECD_CHECK(it != cached_.end() && it->second == block) << "block " << block << " not indexed";
  cached_.erase(it);
  entry.hash.reset();
  entry.tokens.clear();
}

}  // namespace specd
