// BlockPool: free-list order, reference counts, Touch revival, the hash index, eviction and
// hash collisions. Every test pins the free list and checks the invariants after each step.
#include "engine/kv/block_pool.h"

#include <catch2/catch.hpp>

#include "tests/unit/kv/kv_test_util.h"

namespace specd {
namespace {

using kv_test::Iota;
using kv_test::RequireInvariants;
using Ids = std::vector<int32_t>;

BlockHash HashOf(const Ids& tokens) { return HashBlock(std::nullopt, tokens, ""); }

TEST_CASE("a new pool's free list is 0..n-1", "[cpu]") {
  const BlockPool pool(8, 4);
  CHECK(pool.num_blocks() == 8);
  CHECK(pool.num_free_blocks() == 8);
  CHECK(pool.FreeList() == Ids{0, 1, 2, 3, 4, 5, 6, 7});
  for (int32_t block = 0; block < 8; ++block) {
    CHECK(pool.ref_count(block) == 0);
    CHECK_FALSE(pool.is_cached(block));
  }
  RequireInvariants(pool);
  const BlockPool empty(0, 4);
  CHECK(empty.FreeList().empty());
  RequireInvariants(empty);
}

TEST_CASE("Allocate pops the head, Release appends to the tail in the order given", "[cpu]") {
  BlockPool pool(8, 4);
  CHECK(pool.Allocate(3) == Ids{0, 1, 2});
  CHECK(pool.FreeList() == Ids{3, 4, 5, 6, 7});
  CHECK(pool.ref_count(1) == 1);
  RequireInvariants(pool);

  pool.Release(Ids{2, 1, 0});
  CHECK(pool.FreeList() == Ids{3, 4, 5, 6, 7, 2, 1, 0});
  CHECK(pool.ref_count(1) == 0);
  RequireInvariants(pool);

  CHECK(pool.Allocate(0).empty());
  CHECK(pool.Allocate(6) == Ids{3, 4, 5, 6, 7, 2});
  CHECK(pool.FreeList() == Ids{1, 0});
  RequireInvariants(pool);
  CHECK(pool.Allocate(2) == Ids{1, 0});
  CHECK(pool.FreeList().empty());
  CHECK(pool.num_free_blocks() == 0);
  RequireInvariants(pool);
}

TEST_CASE("Touch adds references and takes free blocks out of the list wherever they are",
          "[cpu]") {
  BlockPool pool(6, 4);
  CHECK(pool.Allocate(2) == Ids{0, 1});
  pool.Touch(Ids{0, 3});  // 0 is in use, 3 sits mid-list
  CHECK(pool.ref_count(0) == 2);
  CHECK(pool.ref_count(3) == 1);
  CHECK(pool.FreeList() == Ids{2, 4, 5});
  RequireInvariants(pool);

  pool.Touch(Ids{2, 5});  // the head and the tail
  CHECK(pool.FreeList() == Ids{4});
  RequireInvariants(pool);

  pool.Release(Ids{0});
  CHECK(pool.ref_count(0) == 1);
  CHECK(pool.FreeList() == Ids{4});
  pool.Release(Ids{5, 0, 3, 2, 1});
  CHECK(pool.FreeList() == Ids{4, 5, 0, 3, 2, 1});
  RequireInvariants(pool);
}

TEST_CASE("MarkCached indexes a block; freed cached blocks stay findable until evicted", "[cpu]") {
  BlockPool pool(4, 4);
  const Ids tokens = Iota(10, 4);
  const BlockHash hash = HashOf(tokens);
  CHECK(pool.Allocate(2) == Ids{0, 1});
  CHECK_FALSE(pool.FindCached(hash, tokens).has_value());
  pool.MarkCached(1, hash, tokens);
  CHECK(pool.is_cached(1));
  CHECK(pool.FindCached(hash, tokens) == 1);
  RequireInvariants(pool);

  pool.Release(Ids{1, 0});
  CHECK(pool.FreeList() == Ids{2, 3, 1, 0});
  CHECK(pool.FindCached(hash, tokens) == 1);  // free but still cached
  RequireInvariants(pool);

  // Revived by Touch: it leaves the free list and keeps its hash.
  pool.Touch(Ids{1});
  CHECK(pool.FreeList() == Ids{2, 3, 0});
  CHECK(pool.FindCached(hash, tokens) == 1);
  pool.Release(Ids{1});
  CHECK(pool.FreeList() == Ids{2, 3, 0, 1});
  RequireInvariants(pool);

  // Allocating it from the head evicts it.
  CHECK(pool.Allocate(3) == Ids{2, 3, 0});
  CHECK(pool.is_cached(1));
  CHECK(pool.Allocate(1) == Ids{1});
  CHECK_FALSE(pool.is_cached(1));
  CHECK_FALSE(pool.FindCached(hash, tokens).has_value());
  CHECK(pool.ref_count(1) == 1);
  RequireInvariants(pool);

  // The hash is free again for another block.
  pool.MarkCached(3, hash, tokens);
  CHECK(pool.FindCached(hash, tokens) == 3);
  RequireInvariants(pool);
}

TEST_CASE("MarkCached keeps first registrations", "[cpu]") {
  BlockPool pool(4, 4);
  const Ids a = Iota(0, 4);
  const Ids b = Iota(4, 4);
  CHECK(pool.Allocate(3) == Ids{0, 1, 2});
  pool.MarkCached(0, HashOf(a), a);

  // A block that is already cached keeps its hash.
  pool.MarkCached(0, HashOf(b), b);
  CHECK(pool.FindCached(HashOf(a), a) == 0);
  CHECK_FALSE(pool.FindCached(HashOf(b), b).has_value());
  RequireInvariants(pool);

  // A hash already held by another block keeps pointing at that block.
  pool.MarkCached(1, HashOf(a), a);
  CHECK_FALSE(pool.is_cached(1));
  CHECK(pool.FindCached(HashOf(a), a) == 0);
  RequireInvariants(pool);

  pool.MarkCached(2, HashOf(b), b);
  CHECK(pool.FindCached(HashOf(b), b) == 2);
  RequireInvariants(pool);
}

TEST_CASE("a hash match with other token ids is not a hit", "[cpu]") {
  BlockPool pool(2, 4);
  const Ids real = Iota(0, 4);
  const Ids other = {7, 7, 7, 7};
  CHECK(pool.Allocate(1) == Ids{0});
  // A forged collision: block 0 holds `other` under the hash of `real`.
  pool.MarkCached(0, HashOf(real), other);
  CHECK_FALSE(pool.FindCached(HashOf(real), real).has_value());
  CHECK(pool.FindCached(HashOf(real), other) == 0);
  CHECK_FALSE(pool.FindCached(HashOf(real), Ids{7, 7, 7}).has_value());
  RequireInvariants(pool);
}

}  // namespace
}  // namespace specd
