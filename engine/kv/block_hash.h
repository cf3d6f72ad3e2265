// Chained block hashes for prefix caching:
//   hash(block i) = SHA-256(hash(block i-1) || token ids of block i (int32 little-endian) || salt)
// with an all-zero parent for block 0. Equal hashes mean equal prefixes up to SHA-256 collisions,
// and the pool still confirms a hit by comparing token ids. Pure functions; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace specd {

struct BlockHash {
  std::array<uint8_t, 32> digest{};
  bool operator==(const BlockHash&) const = default;
};

struct BlockHashHasher {
  size_t operator()(const BlockHash& hash) const {
    size_t value;
    std::memcpy(&value, hash.digest.data(), sizeof(value));
    return value;
  }
};

// The hash of one block given its parent's (nullopt for the first block).
BlockHash HashBlock(const std::optional<BlockHash>& parent, std::span<const int32_t> tokens,
                    std::string_view salt);

// Extends `hashes` (the leading full blocks already hashed) to every full block of `tokens`.
void HashFullBlocks(std::span<const int32_t> tokens, int64_t block_size, std::string_view salt,
                    std::vector<BlockHash>& hashes);

}  // namespace specd
