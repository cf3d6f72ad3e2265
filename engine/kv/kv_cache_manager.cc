// KvCacheManager: block tables, prefix lookup and registration over a BlockPool
// (see kv_cache_manager.h). Engine thread only.
//
// Block arithmetic of Allocate, block_size = 4:
//
//   positions  0 1 2 3 | 4 5 6 7 | 8 9 . . | . . . .
//              computed (or prefix)  new     lookahead
//   needed blocks = ceil((num_computed [+ prefix] + num_new + num_lookahead) / block_size)
//   blocks to allocate = needed - blocks already in the table (never negative)
//
// A request's entry is created by FindPrefix (its block hashes) or Allocate (its table) and
// forgotten by Free. Only full blocks of computed tokens are ever hashed and registered.
#include "engine/kv/kv_cache_manager.h"

#include <algorithm>
#include <iterator>
#include <span>

#include "engine/base/check.h"

namespace specd {
namespace {

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// The token ids of block `index` of `tokens`.
std::span<const int32_t> BlockTokens(const std::vector<int32_t>& tokens, int64_t index,
                                     int32_t block_size) {
  return std::span<const int32_t>(tokens).subspan(static_cast<size_t>(index * block_size),
                                                  static_cast<size_t>(block_size));
}

// How many of `blocks` sit on the free list (reference count 0).
int64_t CountFree(const BlockPool& pool, const std::vector<int32_t>& blocks) {
  return std::count_if(blocks.begin(), blocks.end(),
                       [&](int32_t block) { return pool.ref_count(block) == 0; });
}

// CHECKs that `prefix` is what FindPrefix would return now (up to its length): the scheduler
// must allocate right after the lookup, before anything else can evict the blocks.
void CheckPrefixStillCached(const BlockPool& pool, const Request& request,
                            const PrefixMatch& prefix, const std::vector<BlockHash>& hashes,
                            int32_t block_size) {
  SPECD_CHECK(prefix.num_tokens == static_cast<int64_t>(prefix.blocks.size()) * block_size)
      << request.request_id << ": prefix of " << prefix.num_tokens << " tokens";
  SPECD_CHECK(prefix.num_tokens < request.num_tokens())
      << request.request_id << ": prefix covers the last token";
  SPECD_CHECK(hashes.size() >= prefix.blocks.size())
      << request.request_id << ": prefix without FindPrefix";
  for (size_t i = 0; i < prefix.blocks.size(); ++i) {
    const std::optional<int32_t> block = pool.FindCached(
        hashes[i], BlockTokens(request.all_token_ids, static_cast<int64_t>(i), block_size));
    SPECD_CHECK(block == prefix.blocks[i])
        << request.request_id << ": stale prefix block " << prefix.blocks[i] << " at " << i;
  }
}

}  // namespace

KvCacheManager::KvCacheManager(const KvCacheConfig& config)
    : config_(config), pool_(config.num_blocks, config.block_size) {}

PrefixMatch KvCacheManager::FindPrefix(const Request& request) {
  PrefixMatch match;
  if (!config_.enable_prefix_caching) return match;
  std::vector<BlockHash>& hashes = requests_[request.request_id].hashes;
  HashFullBlocks(request.all_token_ids, config_.block_size, request.cache_salt, hashes);

  // The last token is always computed: a hit covers at most num_tokens - 1 tokens.
  const int64_t max_blocks = std::max<int64_t>(request.num_tokens() - 1, 0) / config_.block_size;
  for (int64_t i = 0; i < max_blocks; ++i) {
    const std::optional<int32_t> block = pool_.FindCached(
        hashes[static_cast<size_t>(i)], BlockTokens(request.all_token_ids, i, config_.block_size));
    if (!block.has_value()) break;
    match.blocks.push_back(*block);
  }
  match.num_tokens = static_cast<int64_t>(match.blocks.size()) * config_.block_size;
  stats_.queried_tokens += request.num_tokens();
  stats_.hit_tokens += match.num_tokens;
  return match;
}

bool KvCacheManager::Allocate(const Request& request, int64_t num_new_tokens,
                              const PrefixMatch& prefix, int64_t num_lookahead_tokens) {
  SPECD_CHECK(num_new_tokens >= 0 && num_lookahead_tokens >= 0)
      << request.request_id << ": " << num_new_tokens << " new, " << num_lookahead_tokens
      << " lookahead";
  const auto it = requests_.find(request.request_id);
  const int64_t num_held =
      it == requests_.end() ? 0 : static_cast<int64_t>(it->second.table.size());
  if (!prefix.blocks.empty()) {
    SPECD_CHECK(it != requests_.end()) << request.request_id << ": a prefix without FindPrefix";
    SPECD_CHECK(num_held == 0) << request.request_id << ": a prefix for a request holding blocks";
    CheckPrefixStillCached(pool_, request, prefix, it->second.hashes, config_.block_size);
  }

  const int64_t num_slots =
      request.num_computed_tokens + prefix.num_tokens + num_new_tokens + num_lookahead_tokens;
  const int64_t num_current = num_held + static_cast<int64_t>(prefix.blocks.size());
  const int64_t num_to_allocate =
      std::max<int64_t>(CeilDiv(num_slots, config_.block_size) - num_current, 0);
  // Free prefix blocks leave the free list when touched: they cannot also serve as new blocks.
  if (num_to_allocate > pool_.num_free_blocks() - CountFree(pool_, prefix.blocks)) return false;

  RequestBlocks& entry = requests_[request.request_id];
  // Touch before Allocate, so that allocating cannot evict a prefix block.
  pool_.Touch(prefix.blocks);
  entry.table.insert(entry.table.end(), prefix.blocks.begin(), prefix.blocks.end());
  if (!prefix.blocks.empty()) {
    entry.num_cached_blocks = static_cast<int64_t>(prefix.blocks.size());  // already registered
  }
  const std::vector<int32_t> fresh = pool_.Allocate(static_cast<int32_t>(num_to_allocate));
  entry.table.insert(entry.table.end(), fresh.begin(), fresh.end());
  return true;
}

void KvCacheManager::CacheComputedBlocks(const Request& request) {
  if (!config_.enable_prefix_caching) return;
  const auto it = requests_.find(request.request_id);
  SPECD_CHECK(it != requests_.end()) << request.request_id << " holds no blocks";
  RequestBlocks& entry = it->second;
  // Draft positions past num_tokens() have no token ids yet: they are never cached.
  const int64_t num_computed = std::min(request.num_computed_tokens, request.num_tokens());
  const int64_t num_full_blocks = num_computed / config_.block_size;
  if (num_full_blocks <= entry.num_cached_blocks) return;
  SPECD_CHECK(num_full_blocks <= static_cast<int64_t>(entry.table.size()))
      << request.request_id << ": " << num_computed << " computed tokens in " << entry.table.size()
      << " blocks";

  const auto computed = std::span<const int32_t>(request.all_token_ids)
                            .first(static_cast<size_t>(num_full_blocks * config_.block_size));
  HashFullBlocks(computed, config_.block_size, request.cache_salt, entry.hashes);
  for (int64_t i = entry.num_cached_blocks; i < num_full_blocks; ++i) {
    const auto index = static_cast<size_t>(i);
    // A freed entry's block was registered before the window passed it (or caching was off).
    if (entry.table[index] == kFreedBlock) continue;
    pool_.MarkCached(entry.table[index], entry.hashes[index],
                     BlockTokens(request.all_token_ids, i, config_.block_size));
  }
  entry.num_cached_blocks = num_full_blocks;
}

void KvCacheManager::Free(const std::string& request_id) {
  const auto it = requests_.find(request_id);
  if (it == requests_.end()) return;  // never allocated (or only looked up by FindPrefix)
  const std::vector<int32_t>& table = it->second.table;
  const auto held = table.begin() + static_cast<std::ptrdiff_t>(it->second.num_freed_blocks);
  const std::vector<int32_t> tail_first(table.rbegin(), std::make_reverse_iterator(held));
  pool_.Release(tail_first);
  requests_.erase(it);
}

void KvCacheManager::KeepBlocksOutsideWindow() {
  SPECD_CHECK(requests_.empty()) << "KeepBlocksOutsideWindow with " << requests_.size() << " requests known";
  config_.sliding_window = 0;
}

int64_t KvCacheManager::FreeOutsideWindow(const Request& request) {
  if (config_.sliding_window <= 0) return 0;
  const auto it = requests_.find(request.request_id);
  if (it == requests_.end()) return 0;
  RequestBlocks& entry = it->second;
  const int64_t first_visible = request.num_computed_tokens - config_.sliding_window + 1;
  const int64_t num_outside = std::min<int64_t>(std::max<int64_t>(first_visible, 0) / config_.block_size,
                                                static_cast<int64_t>(entry.table.size()));
  if (num_outside <= entry.num_freed_blocks) return 0;
  std::vector<int32_t> newest_first;
  for (int64_t i = num_outside - 1; i >= entry.num_freed_blocks; --i) {
    int32_t& block = entry.table[static_cast<size_t>(i)];
    newest_first.push_back(block);
    block = kFreedBlock;
  }
  pool_.Release(newest_first);
  const int64_t freed = num_outside - entry.num_freed_blocks;
  entry.num_freed_blocks = num_outside;
  return freed;
}

const std::vector<int32_t>& KvCacheManager::BlockTable(const std::string& request_id) const {
  const auto it = requests_.find(request_id);
  SPECD_CHECK(it != requests_.end()) << request_id << " holds no blocks";
  return it->second.table;
}

bool KvCacheManager::HasBlocks(const std::string& request_id) const {
  const auto it = requests_.find(request_id);
  return it != requests_.end() && !it->second.table.empty();
}

// A table's own consistency: registered and freed counts within it, freed entries exactly the
// leading num_freed_blocks (and only with a window), every other entry a real block.
Status KvCacheManager::CheckTable(const std::string& id, const RequestBlocks& entry, int32_t num_blocks,
                                  bool windowed) {
  const auto size = static_cast<int64_t>(entry.table.size());
  if (entry.num_cached_blocks > size) {
    return InternalError(id + " registered " + std::to_string(entry.num_cached_blocks) + " blocks of a " +
                         std::to_string(size) + "-block table");
  }
  if (entry.num_freed_blocks > size || (entry.num_freed_blocks > 0 && !windowed)) {
    return InternalError(id + " freed " + std::to_string(entry.num_freed_blocks) + " blocks of a " +
                         std::to_string(size) + "-block table" + (windowed ? "" : " without a sliding window"));
  }
  for (int64_t i = 0; i < size; ++i) {
    const int32_t block = entry.table[static_cast<size_t>(i)];
    const bool freed = i < entry.num_freed_blocks;
    if (freed != (block == kFreedBlock) || (!freed && (block < 0 || block >= num_blocks))) {
      return InternalError(id + " holds block " + std::to_string(block) + " at entry " + std::to_string(i) +
                           " (" + std::to_string(entry.num_freed_blocks) + " leading entries freed)");
    }
  }
  return OkStatus();
}

int32_t KvCacheManager::num_free_blocks() const { return pool_.num_free_blocks(); }

double KvCacheManager::Usage() const {
  if (config_.num_blocks == 0) return 0.0;
  return static_cast<double>(config_.num_blocks - pool_.num_free_blocks()) / config_.num_blocks;
}

Status KvCacheManager::CheckInvariants() const {
  SPECD_RETURN_IF_ERROR(pool_.CheckInvariants().WithContext("block pool"));
  std::vector<int32_t> holders(static_cast<size_t>(config_.num_blocks), 0);
  std::vector<const std::string*> last_holder(holders.size(), nullptr);
  for (const auto& [id, entry] : requests_) {
    SPECD_RETURN_IF_ERROR(CheckTable(id, entry, config_.num_blocks, config_.sliding_window > 0));
    for (const int32_t block : entry.table) {
      if (block == kFreedBlock) continue;
      const auto index = static_cast<size_t>(block);
      if (last_holder[index] == &id) {
        return InternalError(id + " holds block " + std::to_string(block) + " twice");
      }
      last_holder[index] = &id;
      ++holders[index];
    }
  }
  for (int32_t block = 0; block < config_.num_blocks; ++block) {
    const int32_t count = holders[static_cast<size_t>(block)];
    if (count != pool_.ref_count(block)) {
      return InternalError("block " + std::to_string(block) + " is in " + std::to_string(count) +
                           " tables but has reference count " +
                           std::to_string(pool_.ref_count(block)));
    }
    if (count > 1 && !pool_.is_cached(block)) {
      return InternalError("uncached block " + std::to_string(block) + " is in " +
                           std::to_string(count) + " tables");
    }
  }
  return OkStatus();
}

}  // namespace specd
