// KvCacheManager: per-request block tables over a BlockPool, with prefix caching.
// Owned and called by the engine thread only (the Scheduler).
//
// A request's table covers positions [0, num_tokens + lookahead):
//
//   block_size = 4, prompt "a b c d e f g h i j" (10 tokens), prefix hit on 2 blocks:
//   table:  [ 7 | 3 | 12 ]      block 7 = "a b c d", block 3 = "e f g h" (cached, shared),
//            cached  cached  new  block 12 holds "i j" and room for 2 more tokens
//
// Prefix caching: every full block of computed tokens gets a chained hash
// SHA-256(parent hash || token ids || cache salt) and is registered in the pool; a new request
// reuses each leading full block of its tokens whose hash and token ids match. The last token
// of a request is always computed, so a hit never covers the whole sequence. Freed cached
// blocks stay reusable until Allocate evicts them, least recently used first.
//
// Sliding window (opt-in, KvCacheConfig::sliding_window > 0, for models whose every attention
// layer has that window): a request's next query sits at num_computed_tokens and sees keys from
// num_computed_tokens - window + 1 on (later queries see later keys only), so FreeOutsideWindow
// returns the blocks wholly before that to the pool and leaves kFreedBlock in their table entries
// (entry indices stay position / block_size). Attention never reads them: the mask skips them.
//
//   block_size = 4, window = 6, num_computed_tokens = 14: the next query (14) sees 9 .. 14
//   positions  0 1 2 3 | 4 5 6 7 | 8 9 10 11 | 12 13 14 15
//   table:    [ freed  | freed   |  5        |  9          ]   blocks 0 and 1 went to the pool
//
// A block shared through prefix caching only drops this request's reference; it stays cached
// (findable by its hash) once free, like any released block.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/base/status.h"
#include "engine/core/request.h"
#include "engine/kv/block_hash.h"
#include "engine/kv/block_pool.h"
#include "engine/kv/freed_block.h"

namespace specd {

struct KvCacheConfig {
  int32_t num_blocks = 0;
  int32_t block_size = 16;
  bool enable_prefix_caching = true;
  // > 0: FreeOutsideWindow frees blocks no future query sees. Only when every model reading the
  // block tables has this sliding window in every layer (not with a draft model that has none).
  int32_t sliding_window = 0;
};


// Leading blocks of a request found in the prefix cache (not yet referenced).
struct PrefixMatch {
  std::vector<int32_t> blocks;
  int64_t num_tokens = 0;  // blocks.size() * block_size
};

struct PrefixCacheStats {
  int64_t queried_tokens = 0;  // tokens looked up by FindPrefix
  int64_t hit_tokens = 0;      // of those, served from the cache
};

class KvCacheManager {
 public:
  explicit KvCacheManager(const KvCacheConfig& config);

  // The longest run of cached leading full blocks of the request's tokens, at most
  // num_tokens() - 1 tokens. Empty when prefix caching is off. Counts toward stats().
  PrefixMatch FindPrefix(const Request& request);

  // Gives the request room for `num_new_tokens` tokens after num_computed_tokens (after the
  // prefix, for a request that starts from `prefix`), plus `num_lookahead_tokens` slots for draft
  // tokens. References the prefix blocks and allocates the rest. All or nothing: returns false
  // and changes nothing when the pool cannot supply the blocks.
  bool Allocate(const Request& request, int64_t num_new_tokens, const PrefixMatch& prefix = {},
                int64_t num_lookahead_tokens = 0);

  // Registers the request's full blocks of computed tokens (tokens [0, num_computed_tokens))
  // in the prefix cache. Call after num_computed_tokens advanced.
  void CacheComputedBlocks(const Request& request);

  // Returns every block of the request to the pool (tail blocks first, so they are evicted first).
  void Free(const std::string& request_id);

  // Sliding window: frees the request's blocks whose every position is before
  // num_computed_tokens - sliding_window + 1, newest first, leaving kFreedBlock in their entries.
  // Returns how many it freed now; 0 without a window or blocks.
  int64_t FreeOutsideWindow(const Request& request);
  // From now on FreeOutsideWindow frees nothing. Precondition: no request holds blocks.
  void KeepBlocksOutsideWindow();

  // Precondition: the request holds blocks (Allocate succeeded and Free was not called).
  const std::vector<int32_t>& BlockTable(const std::string& request_id) const;
  bool HasBlocks(const std::string& request_id) const;

  int32_t block_size() const { return config_.block_size; }
  int32_t num_blocks() const { return config_.num_blocks; }
  int32_t num_free_blocks() const;
  double Usage() const;  // blocks in use / all blocks
  const PrefixCacheStats& stats() const { return stats_; }
  const BlockPool& pool() const { return pool_; }

  // Pool invariants, plus: every block's reference count equals the number of tables holding
  // it, a block sits in two tables only if it is a cached (hashed) block, and kFreedBlock entries
  // are exactly a table's leading num_freed_blocks (only with a sliding window).
  Status CheckInvariants() const;

 private:
  struct RequestBlocks {
    std::vector<int32_t> table;
    std::vector<BlockHash> hashes;  // of the leading full blocks hashed so far
    int64_t num_cached_blocks = 0;  // leading blocks already registered in the pool
    int64_t num_freed_blocks = 0;   // leading entries freed by FreeOutsideWindow (kFreedBlock)
  };

  static Status CheckTable(const std::string& id, const RequestBlocks& entry, int32_t num_blocks,
                           bool windowed);

  KvCacheConfig config_;
  BlockPool pool_;
  std::unordered_map<std::string, RequestBlocks> requests_;
  PrefixCacheStats stats_;
};

}  // namespace specd
