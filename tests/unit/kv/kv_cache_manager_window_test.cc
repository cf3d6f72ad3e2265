// KvCacheManager with a sliding window: FreeOutsideWindow returns the blocks no future query sees
// to the pool (newest first), leaves kFreedBlock in their table entries, keeps blocks other
// requests share through prefix caching until their reference counts say so, and leaves cached
// blocks findable. Block ids, free-list order and reference counts pinned; invariants after every
// operation.
#include "engine/kv/kv_cache_manager.h"

#include <catch2/catch.hpp>

#include "tests/unit/kv/kv_test_util.h"

namespace specd {
namespace {

using kv_test::Concat;
using kv_test::Iota;
using kv_test::MakeRequest;
using kv_test::RequireInvariants;
using Ids = std::vector<int32_t>;

constexpr int32_t kBlockSize = 4;
constexpr int32_t kWindow = 6;

KvCacheManager MakeManager(int32_t num_blocks, int32_t window = kWindow) {
  return KvCacheManager(KvCacheConfig{num_blocks, kBlockSize, /*enable_prefix_caching=*/true, window});
}

// Admits the request (prefix lookup, the rest of its prompt allocated), computes its whole prompt
// and registers its full blocks.
void AdmitAndCompute(KvCacheManager& kv, Request& request) {
  const PrefixMatch prefix = kv.FindPrefix(request);
  REQUIRE(kv.Allocate(request, request.num_tokens() - prefix.num_tokens, prefix));
  request.num_computed_tokens = request.num_tokens();
  kv.CacheComputedBlocks(request);
  RequireInvariants(kv);
}

// One decode step: a new token appended, its slot allocated, computed.
void Decode(KvCacheManager& kv, Request& request, int32_t token) {
  request.all_token_ids.push_back(token);
  REQUIRE(kv.Allocate(request, 1));
  request.num_computed_tokens = request.num_tokens();
  kv.CacheComputedBlocks(request);
  RequireInvariants(kv);
}

}  // namespace

TEST_CASE("window freeing: blocks wholly before the next query's window return to the pool", "[cpu]") {
  KvCacheManager kv = MakeManager(8);
  Request a = MakeRequest("a", Iota(100, 10));
  AdmitAndCompute(kv, a);
  CHECK(kv.BlockTable("a") == Ids{0, 1, 2});
  CHECK(kv.pool().FreeList() == Ids{3, 4, 5, 6, 7});

  // The next query (10) sees 5 .. 10: block 0 (positions 0..3) is out.
  CHECK(kv.FreeOutsideWindow(a) == 1);
  RequireInvariants(kv);
  CHECK(kv.BlockTable("a") == Ids{kFreedBlock, 1, 2});
  CHECK(kv.pool().FreeList() == Ids{3, 4, 5, 6, 7, 0});
  CHECK(kv.pool().is_cached(0));       // still findable by its hash
  CHECK(kv.FreeOutsideWindow(a) == 0);  // nothing new

  // Decoding 10..18 (blocks 3 and 4 allocated on the way): the next query (19) sees 14 .. 19, so
  // blocks 1 (4..7) and 2 (8..11) are out, freed newest first.
  for (int32_t token = 0; token < 9; ++token) Decode(kv, a, 200 + token);
  CHECK(kv.BlockTable("a") == Ids{kFreedBlock, 1, 2, 3, 4});
  CHECK(kv.FreeOutsideWindow(a) == 2);
  RequireInvariants(kv);
  CHECK(kv.BlockTable("a") == Ids{kFreedBlock, kFreedBlock, kFreedBlock, 3, 4});
  CHECK(kv.pool().FreeList() == Ids{5, 6, 7, 0, 2, 1});

  // Free releases only the entries still held.
  kv.Free("a");
  RequireInvariants(kv);
  CHECK(kv.pool().FreeList() == Ids{5, 6, 7, 0, 2, 1, 4, 3});
}

TEST_CASE("window freeing: blocks shared through prefix caching stay with their other holders", "[cpu]") {
  KvCacheManager kv = MakeManager(8);
  Request a = MakeRequest("a", Iota(100, 10));
  AdmitAndCompute(kv, a);  // blocks 0, 1 (cached), 2
  Request b = MakeRequest("b", Concat(Iota(100, 8), Iota(500, 3)));
  AdmitAndCompute(kv, b);  // prefix hit on blocks 0 and 1, then block 3
  CHECK(kv.BlockTable("b") == Ids{0, 1, 3});
  CHECK(kv.pool().ref_count(0) == 2);

  // a's next query (10) drops block 0 from a only: b still holds it.
  CHECK(kv.FreeOutsideWindow(a) == 1);
  RequireInvariants(kv);
  CHECK(kv.pool().ref_count(0) == 1);
  CHECK(kv.pool().FreeList() == Ids{4, 5, 6, 7});

  // b's next query (11) sees 6 .. 11: block 0 is out for b too, and now free (still cached).
  CHECK(kv.FreeOutsideWindow(b) == 1);
  RequireInvariants(kv);
  CHECK(kv.BlockTable("b") == Ids{kFreedBlock, 1, 3});
  CHECK(kv.pool().FreeList() == Ids{4, 5, 6, 7, 0});

  // A third request with the same prefix revives block 0 from the free list.
  Request c = MakeRequest("c", Concat(Iota(100, 8), Iota(700, 2)));
  const PrefixMatch prefix = kv.FindPrefix(c);
  CHECK(prefix.blocks == Ids{0, 1});
  REQUIRE(kv.Allocate(c, c.num_tokens() - prefix.num_tokens, prefix));
  RequireInvariants(kv);
  CHECK(kv.BlockTable("c") == Ids{0, 1, 4});
  CHECK(kv.pool().ref_count(1) == 3);

  kv.Free("a");
  kv.Free("b");
  kv.Free("c");
  RequireInvariants(kv);
  CHECK(kv.num_free_blocks() == 8);
}

TEST_CASE("window freeing: nothing without a window, or once blocks must be kept", "[cpu]") {
  KvCacheManager plain = MakeManager(8, /*window=*/0);
  Request a = MakeRequest("a", Iota(100, 30));
  AdmitAndCompute(plain, a);
  CHECK(plain.FreeOutsideWindow(a) == 0);
  CHECK(plain.BlockTable("a") == Ids{0, 1, 2, 3, 4, 5, 6, 7});

  KvCacheManager kept = MakeManager(8);
  kept.KeepBlocksOutsideWindow();
  Request b = MakeRequest("b", Iota(100, 30));
  AdmitAndCompute(kept, b);
  CHECK(kept.FreeOutsideWindow(b) == 0);
  RequireInvariants(kept);

  // A request that holds no blocks has nothing to free.
  KvCacheManager windowed = MakeManager(8);
  CHECK(windowed.FreeOutsideWindow(MakeRequest("none", Iota(0, 20))) == 0);
}

}  // namespace specd
