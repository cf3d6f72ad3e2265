// Paged attention against an fp64 reference computed from the same bf16 inputs, on batches that
// mix prompt chunks, a chunked-prefill continuation, long decodes and a verify-shaped query, with
// shuffled block tables and random garbage in every cache slot a sequence must not see. Each
// case runs three ways: with a full split-KV workspace (PagedAttentionWorkspaceBytes), with one a
// fifth that size (fewer splits) and with none (no split); the split cases (long decodes alone,
// long decodes beside a prompt chunk, a sliding window over a long range) must actually write
// the workspace. The output and the workspace are poisoned (NaN) before each run. The kernel's
// error must stay within about twice that of a plain fp32 implementation rounded to bf16.
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "kernels/paged_attention.h"
#include "tests/gpu/attention_test_support.h"

namespace specd {
namespace {

using testing::AttentionCase;
using testing::AttentionChunk;

struct Case {
  AttentionCase attention;
  bool must_split = false;  // with the full workspace, some token's keys are split
};

// A prompt chunk from 0, a chunked-prefill continuation, decodes at 300 and 1031, a verify query.
const std::vector<AttentionChunk> kMixedBatch = {{0, 37}, {45, 19}, {299, 1}, {1030, 1}, {123, 5}};

const std::vector<Case>& Cases() {
  static const std::vector<Case> cases = {
      {{"MHA, head dim 128, block size 16", 128, 8, 8, 16, 0, kMixedBatch}},
      {{"GQA 4, head dim 128, block size 16", 128, 32, 8, 16, 0, kMixedBatch}},
      {{"GQA 8, head dim 64, block size 16", 64, 16, 2, 16, 0, kMixedBatch}},
      {{"MHA, head dim 64, block size 1", 64, 4, 4, 1, 0, kMixedBatch}},
      {{"GQA 8, head dim 128, block size 3", 128, 8, 1, 3, 0, kMixedBatch}},
      {{"GQA 12 (two thread blocks per KV head, one part idle), head dim 64", 64, 24, 2, 16, 0, kMixedBatch}},
      {{"GQA 16, head dim 128", 128, 16, 1, 16, 0, kMixedBatch}},
      {{"sliding window 7, GQA 4, head dim 128, block size 16", 128, 16, 4, 16, 7, kMixedBatch}},
      {{"sliding window 40, GQA 8, head dim 64, block size 3", 64, 8, 1, 3, 40, kMixedBatch}},
      // Split-KV: few query tokens, long key ranges.
      {{"split: one decode at 5000, GQA 4, head dim 128", 128, 32, 8, 16, 0, {{4999, 1}}}, true},
      {{"split: one decode at 20000, GQA 8, head dim 64", 64, 16, 2, 16, 0, {{19999, 1}}}, true},
      {{"split: long decodes, a prompt chunk and a verify query, GQA 4, head dim 128", 128, 32, 8, 16, 0,
        {{9000, 1}, {0, 40}, {3000, 12}, {2047, 1}, {6000, 4}, {300, 1}}}, true},
      {{"split: sliding window 1500 over long ranges, GQA 4, head dim 128", 128, 16, 4, 16, 1500,
        {{7000, 1}, {2500, 3}, {1000, 1}, {10, 20}}}, true},
      {{"split: GQA 12, head dim 64, block size 3", 64, 24, 2, 3, 0, {{3000, 1}, {100, 7}}}, true},
      {{"split: MHA, head dim 128, block size 1", 128, 4, 4, 1, 0, {{2500, 1}, {777, 2}}}, true},
      {{"split: GQA 16, head dim 128", 128, 16, 1, 16, 0, {{4100, 1}}}, true},
  };
  return cases;
}

}  // namespace

TEST_CASE("paged attention matches an fp64 reference on mixed batches", "[gpu]") {
  const size_t index = GENERATE(range(size_t{0}, Cases().size()));
  const Case& test = Cases()[index];
  const AttentionCase& c = test.attention;
  CAPTURE(c.name);
  std::mt19937 rng(static_cast<unsigned>(1000 + index));
  const auto in = testing::MakeAttentionInputs(c, testing::TokenOrder::kShuffled, rng);
  testing::CheckPagedAttentionModes(c, in, test.must_split);
}

TEST_CASE("paged attention refuses unsupported shapes", "[gpu]") {
  testing::CheckSharedAttentionRefusals(kernels::LaunchPagedAttention);
}

}  // namespace specd
