// KvCacheManager: block tables through allocate / extend / free / prefix hit / eviction
// sequences, pinning block ids, free-list order and reference counts, with the invariants
// checked after every operation.
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

KvCacheManager MakeManager(int32_t num_blocks, bool prefix_caching = true) {
  return KvCacheManager(KvCacheConfig{num_blocks, /*block_size=*/4, prefix_caching});
}

// Starts `request` the way the scheduler does: look up its prefix, allocate the rest of the
// prompt, mark the prefix computed. Returns the prefix.
PrefixMatch Admit(KvCacheManager& kv, Request& request) {
  const PrefixMatch prefix = kv.FindPrefix(request);
  REQUIRE(kv.Allocate(request, request.num_tokens() - prefix.num_tokens, prefix));
  request.num_computed_tokens = prefix.num_tokens;
  RequireInvariants(kv);
  return prefix;
}

// The whole prompt is computed and its full blocks registered.
void ComputeAll(KvCacheManager& kv, Request& request) {
  request.num_computed_tokens = request.num_tokens();
  kv.CacheComputedBlocks(request);
  RequireInvariants(kv);
}

TEST_CASE("allocate and free: tail blocks return to the free list first", "[cpu]") {
  KvCacheManager kv = MakeManager(8);
  Request a = MakeRequest("a", Iota(100, 10));
  CHECK_FALSE(kv.HasBlocks("a"));
  CHECK(Admit(kv, a).blocks.empty());
  CHECK(kv.BlockTable("a") == Ids{0, 1, 2});
  CHECK(kv.HasBlocks("a"));
  CHECK(kv.num_free_blocks() == 5);
  CHECK(kv.pool().FreeList() == Ids{3, 4, 5, 6, 7});
  CHECK(kv.Usage() == Approx(3.0 / 8.0));

  kv.Free("a");
  CHECK_FALSE(kv.HasBlocks("a"));
  CHECK(kv.pool().FreeList() == Ids{3, 4, 5, 6, 7, 2, 1, 0});
  CHECK(kv.Usage() == 0.0);
  RequireInvariants(kv);

  // The next request takes blocks from the head.
  Request b = MakeRequest("b", Iota(200, 6));
  Admit(kv, b);
  CHECK(kv.BlockTable("b") == Ids{3, 4});
  CHECK(kv.pool().FreeList() == Ids{5, 6, 7, 2, 1, 0});

  kv.Free("unknown");  // a no-op
  RequireInvariants(kv);
}

TEST_CASE("later calls extend the table only when the tokens outgrow it", "[cpu]") {
  KvCacheManager kv = MakeManager(8);
  Request a = MakeRequest("a", Iota(100, 10));
  REQUIRE(kv.Allocate(a, 6));  // a chunk of the prompt: 6 slots
  CHECK(kv.BlockTable("a") == Ids{0, 1});
  a.num_computed_tokens = 6;
  REQUIRE(kv.Allocate(a, 4));  // the rest of the prompt: 10 slots
  CHECK(kv.BlockTable("a") == Ids{0, 1, 2});
  a.num_computed_tokens = 10;
  a.AppendOutputToken(7);
  REQUIRE(kv.Allocate(a, 1));  // 11 slots: block 2 has room
  CHECK(kv.BlockTable("a") == Ids{0, 1, 2});
  a.num_computed_tokens = 11;
  a.AppendOutputToken(8);
  REQUIRE(kv.Allocate(a, 1));  // 12 slots
  CHECK(kv.BlockTable("a") == Ids{0, 1, 2});
  a.num_computed_tokens = 12;
  a.AppendOutputToken(9);
  REQUIRE(kv.Allocate(a, 1));  // 13 slots
  CHECK(kv.BlockTable("a") == Ids{0, 1, 2, 3});
  CHECK(kv.pool().FreeList() == Ids{4, 5, 6, 7});
  RequireInvariants(kv);

  kv.Free("a");
  CHECK(kv.pool().FreeList() == Ids{4, 5, 6, 7, 3, 2, 1, 0});
  RequireInvariants(kv);
}

TEST_CASE("Allocate is all or nothing", "[cpu]") {
  KvCacheManager kv = MakeManager(8);
  Request a = MakeRequest("a", Iota(100, 20));
  Admit(kv, a);
  CHECK(kv.BlockTable("a") == Ids{0, 1, 2, 3, 4});

  SECTION("a new request that does not fit gets nothing") {
    Request b = MakeRequest("b", Iota(200, 16));
    CHECK_FALSE(kv.Allocate(b, 16));
    CHECK_FALSE(kv.HasBlocks("b"));
    CHECK(kv.pool().FreeList() == Ids{5, 6, 7});
    RequireInvariants(kv);
    CHECK(kv.Allocate(b, 12));
    CHECK(kv.BlockTable("b") == Ids{5, 6, 7});
    CHECK(kv.num_free_blocks() == 0);
    RequireInvariants(kv);
  }
  SECTION("an extension that does not fit leaves the table as it was") {
    a.num_computed_tokens = 20;
    CHECK_FALSE(kv.Allocate(a, 13));  // 33 slots: 9 blocks
    CHECK(kv.BlockTable("a") == Ids{0, 1, 2, 3, 4});
    CHECK(kv.pool().FreeList() == Ids{5, 6, 7});
    RequireInvariants(kv);
    CHECK(kv.Allocate(a, 12));  // 32 slots: 8 blocks
    CHECK(kv.BlockTable("a") == Ids{0, 1, 2, 3, 4, 5, 6, 7});
    RequireInvariants(kv);
  }
}

TEST_CASE("lookahead slots are extra capacity", "[cpu]") {
  KvCacheManager kv = MakeManager(4);
  Request a = MakeRequest("a", Iota(100, 5));
  REQUIRE(kv.Allocate(a, 5, {}, 3));  // 8 slots
  CHECK(kv.BlockTable("a") == Ids{0, 1});
  a.num_computed_tokens = 5;
  a.AppendOutputToken(1);
  REQUIRE(kv.Allocate(a, 1, {}, 2));  // 5 + 1 + 2 = 8 slots: no new block
  CHECK(kv.BlockTable("a") == Ids{0, 1});
  REQUIRE(kv.Allocate(a, 1, {}, 3));  // 9 slots
  CHECK(kv.BlockTable("a") == Ids{0, 1, 2});
  CHECK_FALSE(kv.Allocate(a, 1, {}, 11));  // 17 slots: 5 blocks of 4
  CHECK(kv.BlockTable("a") == Ids{0, 1, 2});
  REQUIRE(kv.Allocate(a, 1, {}, 10));  // 16 slots
  CHECK(kv.BlockTable("a") == Ids{0, 1, 2, 3});
  RequireInvariants(kv);

  // Fewer lookahead slots later never shrink the table.
  REQUIRE(kv.Allocate(a, 1, {}, 0));
  CHECK(kv.BlockTable("a") == Ids{0, 1, 2, 3});
  kv.Free("a");
  CHECK(kv.pool().FreeList() == Ids{3, 2, 1, 0});
  RequireInvariants(kv);
}

TEST_CASE("prefix hits share cached blocks and count references", "[cpu]") {
  KvCacheManager kv = MakeManager(8);
  const Ids shared = Iota(1, 8);  // two full blocks
  Request a = MakeRequest("a", Concat(shared, {9, 10}));
  CHECK(Admit(kv, a).blocks.empty());
  CHECK(kv.stats().queried_tokens == 10);
  CHECK(kv.stats().hit_tokens == 0);
  CHECK(kv.BlockTable("a") == Ids{0, 1, 2});
  ComputeAll(kv, a);
  CHECK(kv.pool().is_cached(0));
  CHECK(kv.pool().is_cached(1));
  CHECK_FALSE(kv.pool().is_cached(2));  // partial block

  Request b = MakeRequest("b", Concat(shared, {50, 51, 52}));
  const PrefixMatch hit = Admit(kv, b);
  CHECK(hit.blocks == Ids{0, 1});
  CHECK(hit.num_tokens == 8);
  CHECK(kv.stats().queried_tokens == 21);
  CHECK(kv.stats().hit_tokens == 8);
  CHECK(kv.BlockTable("b") == Ids{0, 1, 3});
  CHECK(kv.pool().ref_count(0) == 2);
  CHECK(kv.pool().ref_count(1) == 2);
  CHECK(kv.pool().ref_count(2) == 1);
  CHECK(kv.pool().ref_count(3) == 1);
  CHECK(kv.pool().FreeList() == Ids{4, 5, 6, 7});
  CHECK(kv.Usage() == Approx(4.0 / 8.0));

  // Caching b's computed blocks leaves the shared ones as they are.
  ComputeAll(kv, b);
  CHECK_FALSE(kv.pool().is_cached(3));

  kv.Free("a");  // 2 returns; 1 and 0 are still held by b
  CHECK(kv.pool().FreeList() == Ids{4, 5, 6, 7, 2});
  CHECK(kv.pool().ref_count(0) == 1);
  RequireInvariants(kv);
  kv.Free("b");
  CHECK(kv.pool().FreeList() == Ids{4, 5, 6, 7, 2, 3, 1, 0});
  RequireInvariants(kv);

  // a's prompt again: both cached blocks are revived from the free list's tail.
  Request c = MakeRequest("c", a.all_token_ids);
  CHECK(Admit(kv, c).blocks == Ids{0, 1});
  CHECK(kv.BlockTable("c") == Ids{0, 1, 4});
  CHECK(kv.pool().FreeList() == Ids{5, 6, 7, 2, 3});
  CHECK(kv.stats().queried_tokens == 31);
  CHECK(kv.stats().hit_tokens == 16);
}

TEST_CASE("prefix hits need the same cache salt", "[cpu]") {
  KvCacheManager kv = MakeManager(8);
  Request a = MakeRequest("a", Iota(1, 10), "tenant-a");
  Admit(kv, a);
  ComputeAll(kv, a);

  Request other_salt = MakeRequest("b", Iota(1, 10), "tenant-b");
  CHECK(kv.FindPrefix(other_salt).blocks.empty());
  Request no_salt = MakeRequest("c", Iota(1, 10));
  CHECK(kv.FindPrefix(no_salt).blocks.empty());
  Request same_salt = MakeRequest("d", Iota(1, 10), "tenant-a");
  CHECK(kv.FindPrefix(same_salt).blocks == Ids{0, 1});
  CHECK(kv.stats().queried_tokens == 40);
  CHECK(kv.stats().hit_tokens == 8);

  // Lookups alone hold no blocks; Free forgets them.
  CHECK_FALSE(kv.HasBlocks("b"));
  for (const char* id : {"b", "c", "d"}) kv.Free(id);
  RequireInvariants(kv);
}

TEST_CASE("a hit never covers the last token", "[cpu]") {
  KvCacheManager kv = MakeManager(8);
  Request a = MakeRequest("a", Iota(1, 8));  // exactly two full blocks
  Admit(kv, a);
  ComputeAll(kv, a);
  CHECK(kv.BlockTable("a") == Ids{0, 1});

  Request same = MakeRequest("b", Iota(1, 8));
  const PrefixMatch hit = Admit(kv, same);
  CHECK(hit.blocks == Ids{0});
  CHECK(hit.num_tokens == 4);
  CHECK(kv.BlockTable("b") == Ids{0, 2});  // recomputes block 1's tokens into block 2

  Request longer = MakeRequest("c", Iota(1, 9));
  CHECK(kv.FindPrefix(longer).blocks == Ids{0, 1});

  Request one_token = MakeRequest("d", Iota(1, 1));
  CHECK(kv.FindPrefix(one_token).blocks.empty());
  Request empty = MakeRequest("e", {});
  CHECK(kv.FindPrefix(empty).blocks.empty());
  RequireInvariants(kv);
}

TEST_CASE("freed cached blocks are evicted least recently used first; Touch revives", "[cpu]") {
  KvCacheManager kv = MakeManager(8);
  Request a = MakeRequest("a", Iota(100, 8));
  Request b = MakeRequest("b", Iota(200, 8));
  Admit(kv, a);
  ComputeAll(kv, a);
  Admit(kv, b);
  ComputeAll(kv, b);
  CHECK(kv.BlockTable("a") == Ids{0, 1});
  CHECK(kv.BlockTable("b") == Ids{2, 3});
  kv.Free("a");
  kv.Free("b");
  CHECK(kv.pool().FreeList() == Ids{4, 5, 6, 7, 1, 0, 3, 2});

  // Uncached blocks go first: nothing is evicted yet.
  Request c = MakeRequest("c", Iota(300, 16));
  Admit(kv, c);
  CHECK(kv.BlockTable("c") == Ids{4, 5, 6, 7});
  CHECK(kv.pool().FreeList() == Ids{1, 0, 3, 2});
  for (const int32_t block : {0, 1, 2, 3}) CHECK(kv.pool().is_cached(block));

  // A hit on a block deep in the free list revives it.
  Request a_again = MakeRequest("a2", Concat(Iota(100, 8), {1}));
  CHECK(Admit(kv, a_again).blocks == Ids{0, 1});
  CHECK(kv.BlockTable("a2") == Ids{0, 1, 3});  // 3 was b's tail: evicted
  CHECK(kv.pool().FreeList() == Ids{2});
  CHECK_FALSE(kv.pool().is_cached(3));
  CHECK(kv.pool().is_cached(2));
  kv.Free("a2");
  CHECK(kv.pool().FreeList() == Ids{2, 3, 1, 0});

  // The least recently freed cached block goes next: b's first block.
  Request d = MakeRequest("d", Iota(400, 3));
  Admit(kv, d);
  CHECK(kv.BlockTable("d") == Ids{2});
  CHECK_FALSE(kv.pool().is_cached(2));
  Request b_again = MakeRequest("b2", Iota(200, 8));
  CHECK(kv.FindPrefix(b_again).blocks.empty());
  kv.Free("b2");
  CHECK(kv.FindPrefix(a_again).blocks == Ids{0, 1});
  RequireInvariants(kv);
}

TEST_CASE("free prefix blocks count against the room Allocate has", "[cpu]") {
  KvCacheManager kv = MakeManager(4);
  Request a = MakeRequest("a", Iota(1, 12));
  Admit(kv, a);
  ComputeAll(kv, a);
  kv.Free("a");
  CHECK(kv.pool().FreeList() == Ids{3, 2, 1, 0});

  // 17 tokens: 2 cached blocks + 3 new, but touching the 2 leaves only 2 free.
  Request b = MakeRequest("b", Concat(Iota(1, 8), Iota(50, 9)));
  const PrefixMatch hit = kv.FindPrefix(b);
  CHECK(hit.blocks == Ids{0, 1});
  CHECK_FALSE(kv.Allocate(b, 9, hit));
  CHECK_FALSE(kv.HasBlocks("b"));
  CHECK(kv.pool().FreeList() == Ids{3, 2, 1, 0});
  CHECK(kv.pool().ref_count(0) == 0);
  RequireInvariants(kv);

  // 13 tokens fit: the prefix is touched before new blocks are taken, so it is never evicted.
  Request c = MakeRequest("c", Concat(Iota(1, 8), Iota(50, 5)));
  CHECK(Admit(kv, c).blocks == Ids{0, 1});
  CHECK(kv.BlockTable("c") == Ids{0, 1, 3, 2});
  CHECK(kv.pool().FreeList().empty());
  CHECK(kv.pool().is_cached(0));
  CHECK(kv.pool().is_cached(1));
  CHECK_FALSE(kv.pool().is_cached(2));  // a's third block, evicted
  kv.Free("b");
  RequireInvariants(kv);
}

TEST_CASE("CacheComputedBlocks registers full computed blocks, chained from the prefix", "[cpu]") {
  KvCacheManager kv = MakeManager(8);
  Request a = MakeRequest("a", Iota(1, 10));
  Admit(kv, a);
  a.num_computed_tokens = 3;
  kv.CacheComputedBlocks(a);
  CHECK_FALSE(kv.pool().is_cached(0));
  a.num_computed_tokens = 7;
  kv.CacheComputedBlocks(a);
  CHECK(kv.pool().is_cached(0));
  CHECK_FALSE(kv.pool().is_cached(1));
  ComputeAll(kv, a);
  CHECK(kv.pool().is_cached(1));
  CHECK_FALSE(kv.pool().is_cached(2));

  // Decode fills block 2; the sampled token not yet computed is not cached.
  a.AppendOutputToken(11);
  REQUIRE(kv.Allocate(a, 1));
  a.num_computed_tokens = 11;
  a.AppendOutputToken(12);
  kv.CacheComputedBlocks(a);
  CHECK_FALSE(kv.pool().is_cached(2));
  // Draft slots counted as computed have no token ids: still only full real tokens count.
  a.num_computed_tokens = 14;
  kv.CacheComputedBlocks(a);
  CHECK(kv.pool().is_cached(2));
  CHECK(kv.BlockTable("a") == Ids{0, 1, 2});
  RequireInvariants(kv);

  // A request starting from a 2-block prefix registers its own third block under the chain.
  Request b = MakeRequest("b", Concat(Iota(1, 8), {70, 71, 72, 73, 74}));
  CHECK(Admit(kv, b).blocks == Ids{0, 1});
  CHECK(kv.BlockTable("b") == Ids{0, 1, 3, 4});
  ComputeAll(kv, b);
  CHECK(kv.pool().is_cached(3));
  CHECK_FALSE(kv.pool().is_cached(4));

  Request c = MakeRequest("c", Concat(b.all_token_ids, {75}));
  CHECK(kv.FindPrefix(c).blocks == Ids{0, 1, 3});
  Request d = MakeRequest("d", Concat(Iota(1, 12), {75}));
  CHECK(kv.FindPrefix(d).blocks == Ids{0, 1, 2});
  // Block 3's tokens after another parent are not a hit.
  Request e = MakeRequest("e", Concat(Concat(Iota(1, 4), Iota(90, 4)), {70, 71, 72, 73, 1}));
  CHECK(kv.FindPrefix(e).blocks == Ids{0});
  for (const char* id : {"c", "d", "e"}) kv.Free(id);
  RequireInvariants(kv);
}

TEST_CASE("the same prompt computed twice keeps the first copy cached", "[cpu]") {
  KvCacheManager kv = MakeManager(8);
  Request a = MakeRequest("a", Iota(1, 10));
  Request b = MakeRequest("b", Iota(1, 10));
  Admit(kv, a);
  Admit(kv, b);  // before a is computed: no hit
  CHECK(kv.BlockTable("b") == Ids{3, 4, 5});
  ComputeAll(kv, a);
  ComputeAll(kv, b);
  CHECK(kv.pool().is_cached(0));
  CHECK(kv.pool().is_cached(1));
  CHECK_FALSE(kv.pool().is_cached(3));
  CHECK_FALSE(kv.pool().is_cached(4));
  kv.Free("a");
  kv.Free("b");
  CHECK(kv.pool().FreeList() == Ids{6, 7, 2, 1, 0, 5, 4, 3});

  Request c = MakeRequest("c", Iota(1, 10));
  CHECK(Admit(kv, c).blocks == Ids{0, 1});
  CHECK(kv.BlockTable("c") == Ids{0, 1, 6});
}

TEST_CASE("with prefix caching off nothing is hashed, found or counted", "[cpu]") {
  KvCacheManager kv = MakeManager(8, /*prefix_caching=*/false);
  Request a = MakeRequest("a", Iota(1, 10));
  Admit(kv, a);
  ComputeAll(kv, a);
  for (const int32_t block : {0, 1, 2}) CHECK_FALSE(kv.pool().is_cached(block));
  Request b = MakeRequest("b", Iota(1, 10));
  CHECK(kv.FindPrefix(b).blocks.empty());
  CHECK(kv.stats().queried_tokens == 0);
  CHECK(kv.stats().hit_tokens == 0);
  Admit(kv, b);
  CHECK(kv.BlockTable("b") == Ids{3, 4, 5});
  kv.Free("a");
  kv.Free("b");
  CHECK(kv.pool().FreeList() == Ids{6, 7, 2, 1, 0, 5, 4, 3});
  RequireInvariants(kv);
}

}  // namespace
}  // namespace specd
