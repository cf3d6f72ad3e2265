// Randomized KvCacheManager test: thousands of scheduler-like operations (admit with prefix
// lookup, extend with lookahead, compute and cache, preempt, finish) over a tiny pool.
//
// Besides CheckInvariants after every operation, a shadow copy of the KV contents (which token
// id each slot holds) is kept: every prefix hit must hand out blocks whose slots hold exactly the
// request's tokens, no request may write into a block another request holds, and the blocks
// held plus the free blocks always account for the whole pool.
#include <algorithm>
#include <map>
#include <random>
#include <set>

#include <catch2/catch.hpp>

#include "engine/kv/kv_cache_manager.h"
#include "tests/unit/kv/kv_test_util.h"

namespace specd {
namespace {

using kv_test::MakeRequest;

constexpr int32_t kNumBlocks = 12;
constexpr int32_t kBlockSize = 4;
constexpr int32_t kEmpty = -1;

class RandomDriver {
 public:
  explicit RandomDriver(uint32_t seed)
      : rng_(seed),
        kv_(KvCacheConfig{kNumBlocks, kBlockSize, true}),
        slots_(static_cast<size_t>(kNumBlocks * kBlockSize), kEmpty) {}

  void Step() {
    const int op = Uniform(0, 9);
    if (op < 3 || running_.empty()) {
      Admit();
    } else if (op < 8) {
      Advance(PickRunning());
    } else {
      Finish(PickRunning());
    }
    Verify();
  }

  void FinishAll() {
    while (!running_.empty()) Finish(running_.begin()->first);
    Verify();
    REQUIRE(kv_.num_free_blocks() == kNumBlocks);
    std::vector<int32_t> free_list = kv_.pool().FreeList();
    std::sort(free_list.begin(), free_list.end());
    std::vector<int32_t> all(kNumBlocks);
    for (int32_t i = 0; i < kNumBlocks; ++i) all[static_cast<size_t>(i)] = i;
    REQUIRE(free_list == all);
  }

  const KvCacheManager& kv() const { return kv_; }
  int64_t num_hits() const { return num_hits_; }
  int64_t num_failed_allocations() const { return num_failed_allocations_; }

 private:
  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

  std::string PickRunning() {
    auto it = running_.begin();
    std::advance(it, Uniform(0, static_cast<int>(running_.size()) - 1));
    return it->first;
  }

  // Prompts share leading tokens (one of three stems, cut anywhere) so that prefixes hit.
  Request NewRequest() {
    static const std::vector<int32_t> kStems[] = {
        {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
        {1, 2, 3, 4, 20, 21, 22, 23, 24, 25, 26, 27},
        {30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41}};
    std::vector<int32_t> tokens = kStems[Uniform(0, 2)];
    tokens.resize(static_cast<size_t>(Uniform(0, 12)));
    const int extra = Uniform(tokens.empty() ? 1 : 0, 6);
    for (int i = 0; i < extra; ++i) tokens.push_back(Uniform(50, 52));
    return MakeRequest("r" + std::to_string(next_id_++), tokens, Uniform(0, 3) == 0 ? "s" : "");
  }

  void Admit() {
    Request request = NewRequest();
    const PrefixMatch prefix = kv_.FindPrefix(request);
    CheckPrefixContents(request, prefix);
    const int64_t remaining = request.num_tokens() - prefix.num_tokens;
    const int64_t chunk = Uniform(1, static_cast<int>(remaining));
    if (!kv_.Allocate(request, chunk, prefix, Uniform(0, 3))) {
      ++num_failed_allocations_;
      kv_.Free(request.request_id);  // drops the lookup's hashes
      REQUIRE_FALSE(kv_.HasBlocks(request.request_id));
      return;
    }
    if (!prefix.blocks.empty()) ++num_hits_;
    request.num_computed_tokens = prefix.num_tokens;
    Compute(request, chunk);
    running_.emplace(request.request_id, std::move(request));
  }

  // One scheduler step for a running request: the next prompt chunk or one decode token.
  void Advance(const std::string& id) {
    Request& request = running_.at(id);
    const int64_t remaining = request.num_tokens() - request.num_computed_tokens;
    const int64_t chunk = Uniform(1, static_cast<int>(remaining));
    const std::vector<int32_t> before = kv_.BlockTable(id);
    if (!kv_.Allocate(request, chunk, {}, Uniform(0, 3))) {
      ++num_failed_allocations_;
      REQUIRE(kv_.BlockTable(id) == before);
      Finish(id);  // preempted
      return;
    }
    REQUIRE(std::equal(before.begin(), before.end(), kv_.BlockTable(id).begin()));
    Compute(request, chunk);
  }

  // Writes the KV of `chunk` tokens after num_computed_tokens, then registers full blocks; a
  // finished prompt samples one more token.
  void Compute(Request& request, int64_t chunk) {
    const std::vector<int32_t>& table = kv_.BlockTable(request.request_id);
    REQUIRE(static_cast<int64_t>(table.size()) * kBlockSize >= request.num_computed_tokens + chunk);
    for (int64_t pos = request.num_computed_tokens; pos < request.num_computed_tokens + chunk;
         ++pos) {
      const int32_t block = table[static_cast<size_t>(pos / kBlockSize)];
      REQUIRE(kv_.pool().ref_count(block) == 1);  // never write into a shared block
      slots_[static_cast<size_t>(block * kBlockSize + pos % kBlockSize)] =
          request.all_token_ids[static_cast<size_t>(pos)];
    }
    request.num_computed_tokens += chunk;
    kv_.CacheComputedBlocks(request);
    if (request.num_computed_tokens == request.num_tokens()) {
      request.AppendOutputToken(Uniform(50, 52));
    }
  }

  void Finish(const std::string& id) {
    const int32_t free_before = kv_.num_free_blocks();
    int32_t sole_owned = 0;
    for (const int32_t block : kv_.BlockTable(id)) sole_owned += kv_.pool().ref_count(block) == 1;
    kv_.Free(id);
    REQUIRE(kv_.num_free_blocks() == free_before + sole_owned);
    REQUIRE_FALSE(kv_.HasBlocks(id));
    running_.erase(id);
  }

  // A hit's blocks hold exactly the request's leading tokens.
  void CheckPrefixContents(const Request& request, const PrefixMatch& prefix) {
    REQUIRE(prefix.num_tokens < std::max<int64_t>(request.num_tokens(), 1));
    for (size_t i = 0; i < prefix.blocks.size(); ++i) {
      for (int32_t j = 0; j < kBlockSize; ++j) {
        const auto pos = static_cast<size_t>(static_cast<int64_t>(i) * kBlockSize + j);
        REQUIRE(slots_[static_cast<size_t>(prefix.blocks[i] * kBlockSize + j)] ==
                request.all_token_ids[pos]);
      }
    }
  }

  void Verify() {
    const Status status = kv_.CheckInvariants();
    INFO(status.ToString());
    REQUIRE(status.ok());
    std::set<int32_t> held;
    for (const auto& [id, request] : running_) {
      const std::vector<int32_t>& table = kv_.BlockTable(id);
      held.insert(table.begin(), table.end());
    }
    REQUIRE(static_cast<int32_t>(held.size()) + kv_.num_free_blocks() == kNumBlocks);
    REQUIRE(kv_.Usage() == Approx(static_cast<double>(held.size()) / kNumBlocks));
  }

  std::mt19937 rng_;
  KvCacheManager kv_;
  std::vector<int32_t> slots_;  // [num_blocks * block_size]: the token id each slot holds
  std::map<std::string, Request> running_;
  int next_id_ = 0;
  int64_t num_hits_ = 0;
  int64_t num_failed_allocations_ = 0;
};

TEST_CASE("random allocate / extend / cache / free sequences keep every invariant", "[cpu]") {
  for (const uint32_t seed : {1u, 2u, 3u}) {
    INFO("seed " << seed);
    RandomDriver driver(seed);
    for (int i = 0; i < 3000; ++i) driver.Step();
    driver.FinishAll();
    // The run exercised what it claims to.
    CHECK(driver.num_hits() > 50);
    CHECK(driver.num_failed_allocations() > 10);
    CHECK(driver.kv().stats().hit_tokens > 0);
  }
}

}  // namespace
}  // namespace specd
