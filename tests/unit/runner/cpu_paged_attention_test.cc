// The CPU reference attention (engine/runner/cpu_paged_attention.h) with every modifier against
// the independent fp64 reference of tests/attention_reference.h on random inputs: a batch of a
// prompt from 0 (prefill), a continuation (chunked prefill), a decode and a verify-shaped query,
// block sizes 16 and 3, windows and documents that cross block boundaries, a prefix-LM prefix
// longer than a chunk, ALiBi on a head count that is not a power of two.
#include "engine/runner/cpu_paged_attention.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <span>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/attention_reference.h"
#include "tests/bf16_vectors.h"

namespace specd {
namespace {

using kernels::AttentionModifierKind;
using testing::AttentionCase;
using testing::AttentionChunk;
using testing::ModifierSpec;

// Prefill from 0, a continuation (37 cached, 30 more), a decode at 300, a verify query of 5.
const std::vector<AttentionChunk> kMixedBatch = {{0, 40}, {37, 30}, {299, 1}, {120, 5}};

std::vector<AttentionCase> Cases() {
  std::vector<AttentionCase> cases;
  const auto add = [&](const std::string& name, int window, ModifierSpec spec) {
    cases.push_back({name + ", block size 16", 64, 4, 2, 16, window, kMixedBatch, spec});
    cases.push_back({name + ", block size 3", 64, 6, 3, 3, window, kMixedBatch, spec});
  };
  add("causal", 0, {});
  add("sliding window 7", 7, {});
  add("sliding window 40", 40, {});
  add("soft-capping 5", 0, {AttentionModifierKind::kSoftCap, 5.0f});
  add("soft-capping 2, window 20", 20, {AttentionModifierKind::kSoftCap, 2.0f});
  add("ALiBi", 0, {AttentionModifierKind::kAlibi});
  add("ALiBi, window 33", 33, {AttentionModifierKind::kAlibi});
  add("prefix-LM 20", 0, {AttentionModifierKind::kPrefixLm, 0.0f, 20});
  add("prefix-LM 50 (beyond the first chunk)", 0, {AttentionModifierKind::kPrefixLm, 0.0f, 50});
  add("documents of 1..9", 0, {AttentionModifierKind::kDocument, 0.0f, 0, 9});
  add("documents of 1..40", 0, {AttentionModifierKind::kDocument, 0.0f, 0, 40});
  return cases;
}

// The CPU reference's output for every query token: [num_tokens, num_heads, head_dim].
std::vector<float> RunCpuAttention(const AttentionCase& c, const testing::AttentionInputs& in, float scale) {
  const std::vector<float> q = testing::BF16ToFloats(in.q), keys = testing::BF16ToFloats(in.k_cache),
                           values = testing::BF16ToFloats(in.v_cache);
  const kernels::AttentionModifier modifier = testing::MakeModifier(c, in, in.seq_lens.data(), in.document_starts.data());
  const CpuAttentionShape shape{c.num_heads, c.num_kv_heads, c.head_dim, c.block_size, scale};
  const size_t row = static_cast<size_t>(c.num_heads) * c.head_dim;
  std::vector<float> out(in.positions.size() * row);
  const std::vector<int32_t> tables(in.block_tables.begin(), in.block_tables.end());
  for (size_t t = 0; t < in.positions.size(); ++t) {
    const int seq = in.token_seq[t];
    CpuSequenceKv kv;
    kv.keys = keys.data();
    kv.values = values.data();
    kv.block_table = std::span<const int32_t>(tables).subspan(static_cast<size_t>(seq) * in.max_blocks_per_seq,
                                                              static_cast<size_t>(in.max_blocks_per_seq));
    kv.num_keys = in.seq_lens[static_cast<size_t>(seq)];
    kv.seq = seq;
    CpuPagedAttention(modifier, shape, kv, in.positions[t], q.data() + t * static_cast<size_t>(in.q_stride),
                      out.data() + t * row);
  }
  return out;
}

}  // namespace

TEST_CASE("CPU reference attention matches an fp64 reference under every modifier", "[cpu]") {
  const std::vector<AttentionCase> cases = Cases();
  for (size_t index = 0; index < cases.size(); ++index) {
    const AttentionCase& c = cases[index];
    CAPTURE(c.name);
    std::mt19937 rng(static_cast<unsigned>(3000 + index));
    const testing::AttentionInputs in = testing::MakeAttentionInputs(c, testing::TokenOrder::kShuffled, rng);
    const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
    const testing::AttentionReference ref = testing::ComputeAttentionReference(c, in, scale);
    const std::vector<float> got = RunCpuAttention(c, in, scale);
    REQUIRE(got.size() == ref.exact.size());
    double max_ref = 0.0, max_error = 0.0;
    for (size_t i = 0; i < got.size(); ++i) {
      max_ref = std::max(max_ref, std::abs(ref.exact[i]));
      max_error = std::max(max_error, std::abs(got[i] - ref.exact[i]));
    }
    CAPTURE(max_error, max_ref);
    CHECK(max_error <= 1e-5 * max_ref);  // fp32 arithmetic: ~1e-7 relative per operation
  }
}

}  // namespace specd
