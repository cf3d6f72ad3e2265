// Chained SHA-256 block hashes for prefix caching (see block_hash.h).
//
//   tokens:  [ t0 t1 t2 t3 | t4 t5 t6 t7 | t8 t9 ]      block_size = 4
//   hashes:    h0 = H(0^32 || t0..t3 || salt)
//                            h1 = H(h0 || t4..t7 || salt)
//                                          (partial block: not hashed)
#include "engine/kv/block_hash.h"

#include <openssl/evp.h>

#include "engine/base/check.h"

namespace specd {
namespace {

constexpr size_t kDigestSize = sizeof(BlockHash::digest);

// Appends `value` to `bytes` as 4 little-endian bytes, whatever the host byte order.
void AppendInt32LittleEndian(int32_t value, std::vector<uint8_t>& bytes) {
  const auto bits = static_cast<uint32_t>(value);
  for (int shift = 0; shift < 32; shift += 8) {
    bytes.push_back(static_cast<uint8_t>((bits >> shift) & 0xFFu));
  }
}

}  // namespace

BlockHash HashBlock(const std::optional<BlockHash>& parent, std::span<const int32_t> tokens,
                    std::string_view salt) {
  // The message: parent digest (zeros for the first block) || tokens (int32 LE) || salt.
  std::vector<uint8_t> message;
  message.reserve(kDigestSize + tokens.size() * sizeof(int32_t) + salt.size());
  const BlockHash zero_parent;
  const BlockHash& parent_hash = parent.has_value() ? *parent : zero_parent;
  message.insert(message.end(), parent_hash.digest.begin(), parent_hash.digest.end());
  for (const int32_t token : tokens) AppendInt32LittleEndian(token, message);
  message.insert(message.end(), salt.begin(), salt.end());

  BlockHash hash;
  unsigned int digest_size = 0;
  const int ok = EVP_Digest(message.data(), message.size(), hash.digest.data(), &digest_size,
                            EVP_sha256(), nullptr);
  SPECD_CHECK(ok == 1 && digest_size == kDigestSize) << "SHA-256 failed";
  return hash;
}

void HashFullBlocks(std::span<const int32_t> tokens, int64_t block_size, std::string_view salt,
                    std::vector<BlockHash>& hashes) {
  SPECD_CHECK(block_size > 0) << "block_size " << block_size;
  const auto num_full_blocks = static_cast<int64_t>(tokens.size()) / block_size;
  for (auto i = static_cast<int64_t>(hashes.size()); i < num_full_blocks; ++i) {
    const std::optional<BlockHash> parent =
        i == 0 ? std::nullopt : std::optional<BlockHash>(hashes[static_cast<size_t>(i - 1)]);
    const auto block_tokens =
        tokens.subspan(static_cast<size_t>(i * block_size), static_cast<size_t>(block_size));
    hashes.push_back(HashBlock(parent, block_tokens, salt));
  }
}

}  // namespace specd
