// Chained block hashes: golden SHA-256 values (from Python's hashlib), chaining, salt, and the
// incremental extension of HashFullBlocks.
#include "engine/kv/block_hash.h"

#include <catch2/catch.hpp>

#include "tests/unit/kv/kv_test_util.h"

namespace specd {
namespace {

using kv_test::Hex;

// Golden digests, computed independently:
//   sha256(bytes(32) + pack('<4i', 1, 2, 3, 4))
constexpr char kFirstBlock[] = "d8faa8ec8c0500567ca87b56e4bb666d69cb512e638103891defea24e88cbc92";
//   sha256(bytes(32) + pack('<4i', 1, 2, 3, 4) + b'tenant-a')
constexpr char kFirstBlockSalted[] =
    "858999388b7f0a0ea970e1e3da65ebbc2b196ef288d77d917594730a271e65bc";
//   sha256(<kFirstBlock digest> + pack('<4i', 5, 6, 7, -1))
constexpr char kSecondBlock[] = "017a5ecc4b928b712294951e1873ed055ffc608fb97023e33dde0b14ddeb344c";

TEST_CASE("HashBlock is SHA-256 of parent, little-endian token ids and salt", "[cpu]") {
  const std::vector<int32_t> first = {1, 2, 3, 4};
  const std::vector<int32_t> second = {5, 6, 7, -1};
  const BlockHash h0 = HashBlock(std::nullopt, first, "");
  CHECK(Hex(h0) == kFirstBlock);
  CHECK(Hex(HashBlock(std::nullopt, first, "tenant-a")) == kFirstBlockSalted);
  CHECK(Hex(HashBlock(h0, second, "")) == kSecondBlock);
  // The first block's parent is all zeros, spelled either way.
  CHECK(HashBlock(BlockHash{}, first, "") == h0);
}

TEST_CASE("the same block tokens under different parents or salts hash differently", "[cpu]") {
  const std::vector<int32_t> tokens = {9, 9, 9, 9};
  const BlockHash parent_a = HashBlock(std::nullopt, std::vector<int32_t>{1, 2, 3, 4}, "");
  const BlockHash parent_b = HashBlock(std::nullopt, std::vector<int32_t>{1, 2, 3, 5}, "");
  CHECK_FALSE(HashBlock(parent_a, tokens, "") == HashBlock(parent_b, tokens, ""));
  CHECK_FALSE(HashBlock(parent_a, tokens, "") == HashBlock(std::nullopt, tokens, ""));
  CHECK_FALSE(HashBlock(parent_a, tokens, "x") == HashBlock(parent_a, tokens, "y"));
  CHECK(HashBlock(parent_a, tokens, "x") == HashBlock(parent_a, tokens, "x"));
}

TEST_CASE("HashFullBlocks chains over full blocks only and extends incrementally", "[cpu]") {
  const std::vector<int32_t> tokens = {1, 2, 3, 4, 5, 6, 7, -1, 8, 9};  // 2 full blocks of 4
  std::vector<BlockHash> hashes;
  HashFullBlocks(tokens, 4, "", hashes);
  REQUIRE(hashes.size() == 2);
  CHECK(Hex(hashes[0]) == kFirstBlock);
  CHECK(Hex(hashes[1]) == kSecondBlock);

  // Extending keeps the leading hashes (even a wrong one: they are not recomputed).
  std::vector<BlockHash> partial = {BlockHash{}};
  HashFullBlocks(tokens, 4, "", partial);
  REQUIRE(partial.size() == 2);
  CHECK(partial[0] == BlockHash{});
  CHECK(partial[1] == HashBlock(BlockHash{}, std::vector<int32_t>{5, 6, 7, -1}, ""));

  // A span shorter than the hashes already held changes nothing.
  HashFullBlocks(std::span<const int32_t>(tokens).first(4), 4, "", hashes);
  CHECK(hashes.size() == 2);

  std::vector<BlockHash> none;
  HashFullBlocks(std::span<const int32_t>(tokens).first(3), 4, "", none);
  CHECK(none.empty());

  std::vector<BlockHash> salted;
  HashFullBlocks(tokens, 4, "tenant-a", salted);
  REQUIRE(salted.size() == 2);
  CHECK(Hex(salted[0]) == kFirstBlockSalted);
  CHECK(salted[1] == HashBlock(salted[0], std::vector<int32_t>{5, 6, 7, -1}, "tenant-a"));
}

}  // namespace
}  // namespace specd
