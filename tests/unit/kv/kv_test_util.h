// Helpers shared by the KV cache tests: requests with given token ids, digests as hex, the
// invariant check of a block pool or KV cache manager.
#pragma once

#include <cstdint>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "engine/base/status.h"
#include "engine/core/request.h"
#include "engine/kv/block_hash.h"

namespace specd::kv_test {

// REQUIREs that a BlockPool's or KvCacheManager's CheckInvariants holds, its message on failure.
template <typename Checked>
void RequireInvariants(const Checked& checked) {
  const Status status = checked.CheckInvariants();
  INFO(status.ToString());
  REQUIRE(status.ok());
}

// n consecutive token ids starting at `first`.
inline std::vector<int32_t> Iota(int32_t first, int32_t n) {
  std::vector<int32_t> ids(static_cast<size_t>(n));
  std::iota(ids.begin(), ids.end(), first);
  return ids;
}

inline std::vector<int32_t> Concat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// A waiting request whose prompt is `tokens` (nothing computed yet).
inline Request MakeRequest(const std::string& id, const std::vector<int32_t>& tokens,
                           const std::string& salt = "") {
  Request request;
  request.request_id = id;
  request.prompt_token_ids = tokens;
  request.all_token_ids = tokens;
  request.cache_salt = salt;
  return request;
}

inline std::string Hex(const BlockHash& hash) {
  std::string hex;
  for (const uint8_t byte : hash.digest) {
    char buffer[3];
    std::snprintf(buffer, sizeof(buffer), "%02x", byte);
    hex += buffer;
  }
  return hex;
}

}  // namespace specd::kv_test
