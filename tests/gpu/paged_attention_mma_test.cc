// Tensor-core paged attention (kernels/paged_attention_mma.h) against an fp64 reference computed
// from the same bf16 inputs: prompt chunks from position 0, continuing chunks (start > 0), odd
// lengths (1, 17, 130 tokens), several sequences per batch (row tiles that straddle sequences),
// head dims 64 and 128, GQA 1, 4 and 8, sliding windows 7 and 40, block sizes 16 and 3, shuffled
// block tables, random garbage in every cache slot a sequence must not see, and a q row stride
// wider than the query heads (fused QKV layout). Tokens of a sequence are consecutive in the batch
// except in the shuffled case (any order must be correct, only slower). Every tile-shape variant
// runs on every case; the output is poisoned (NaN) before each run. The kernel's error must stay
// within about twice that of a plain fp32 implementation rounded to bf16.
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "kernels/paged_attention_mma.h"
#include "tests/gpu/attention_test_support.h"

namespace specd {
namespace {

using testing::AttentionCase;
using testing::AttentionChunk;

struct Case {
  AttentionCase attention;
  bool shuffled = false;  // query tokens in random batch order
};

// Odd lengths from 0, a continuation (37 cached, 100 more), single tokens; 266 tokens, so the
// 128-row tiles straddle sequences.
const std::vector<AttentionChunk> kMixedBatch = {{0, 1}, {0, 17}, {0, 130}, {37, 100}, {300, 1}, {200, 17}};

const std::vector<Case>& Cases() {
  static const std::vector<Case> cases = {
      {{"one prompt of 130 from 0, MHA, head dim 128, block size 16", 128, 4, 4, 16, 0, {{0, 130}}}},
      {{"continuation: 37 cached, 100 more, GQA 4, head dim 128, block size 16", 128, 16, 4, 16, 0, {{37, 100}}}},
      {{"mixed batch, MHA, head dim 128, block size 16", 128, 4, 4, 16, 0, kMixedBatch}},
      {{"mixed batch, GQA 4, head dim 64, block size 16", 64, 16, 4, 16, 0, kMixedBatch}},
      {{"mixed batch, GQA 8, head dim 64, block size 3", 64, 16, 2, 3, 0, kMixedBatch}},
      {{"mixed batch, GQA 8, head dim 128, block size 3", 128, 8, 1, 3, 0, kMixedBatch}},
      {{"sliding window 7, GQA 4, head dim 128, block size 16", 128, 8, 2, 16, 7, kMixedBatch}},
      {{"sliding window 40, GQA 8, head dim 64, block size 3", 64, 8, 1, 3, 40, kMixedBatch}},
      {{"sliding window 40, long continuation, MHA, head dim 128, block size 16", 128, 2, 2, 16, 40, {{500, 200}}}},
      {{"long chunks: 300 after 400 cached, 260 from 0, GQA 4, head dim 128, block size 16", 128, 8, 2, 16, 0,
        {{400, 300}, {0, 260}}}},
      {{"decode- and verify-shaped tokens, GQA 4, head dim 128, block size 16", 128, 8, 2, 16, 0,
        {{1030, 1}, {299, 1}, {45, 19}, {123, 5}}}},
      {{"shuffled token order, MHA, head dim 64, block size 16", 64, 2, 2, 16, 0, {{0, 50}, {20, 70}, {0, 1}}}, true},
  };
  return cases;
}

}  // namespace

TEST_CASE("paged attention mma matches an fp64 reference", "[gpu]") {
  const size_t index = GENERATE(range(size_t{0}, Cases().size()));
  const Case& test = Cases()[index];
  const AttentionCase& c = test.attention;
  CAPTURE(c.name);
  std::mt19937 rng(static_cast<unsigned>(2000 + index));
  const auto order = test.shuffled ? testing::TokenOrder::kShuffled : testing::TokenOrder::kBySequence;
  const auto in = testing::MakeAttentionInputs(c, order, rng);
  testing::CheckPagedAttentionMmaVariants(c, in);
}

TEST_CASE("paged attention mma refuses unsupported shapes", "[gpu]") {
  testing::CheckSharedAttentionRefusals(kernels::LaunchPagedAttentionMma);
  kernels::PagedAttentionParams params = testing::ShapeOnlyAttentionParams();
  params.q_stride = 8 * 128 + 4;  // rows not 16-byte aligned
  CHECK(kernels::LaunchPagedAttentionMma(params, nullptr) == cudaErrorInvalidValue);
  params.q_stride = 4 * 128;  // narrower than the query heads
  CHECK(kernels::LaunchPagedAttentionMma(params, nullptr) == cudaErrorInvalidValue);
  params.q_stride = 8 * 128;
  params.modifier.skip_masked_blocks = false;  // the split-KV kernel's baseline mode only
  CHECK(kernels::LaunchPagedAttentionMma(params, nullptr) == cudaErrorInvalidValue);
  params.modifier.skip_masked_blocks = true;
  CHECK(kernels::LaunchPagedAttentionMmaVariant(params, kernels::PagedAttentionMmaNumVariants(), nullptr) ==
        cudaErrorInvalidValue);
}

}  // namespace specd
