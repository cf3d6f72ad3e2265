// Attention modifiers (kernels/attention_modifier.h) on the host: each built-in mask against its
// definition (tests/attention_reference.h) for every query and key of small sequences, the block
// classifier exhaustively against those masks (every query range and key range: "masked" and
// "visible" must never be wrong, and both must occur), ALiBi's slopes against Bloom's values, and
// the descriptor checks.
#include "kernels/attention_modifier.h"

#include <cmath>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/attention_reference.h"

namespace specd {
namespace {

using kernels::AttentionModifierKind;
using kernels::KeyBlockClass;
using testing::AttentionCase;
using testing::ModifierSpec;

constexpr int kLength = 40;  // positions of the longer sequence

// Two sequences: one of kLength positions, one of 15 (a prefix-LM prefix longer than what exists).
AttentionCase SmallCase(const std::string& name, int window, ModifierSpec spec) {
  return {name, 4, 2, 1, 4, window, {{0, kLength}, {5, 10}}, spec};
}

std::vector<AttentionCase> Cases() {
  return {
      SmallCase("causal", 0, {}),
      SmallCase("sliding window 1", 1, {}),
      SmallCase("sliding window 5", 5, {}),
      SmallCase("sliding window 16", 16, {}),
      SmallCase("soft-capping", 0, {AttentionModifierKind::kSoftCap, 5.0f}),
      SmallCase("soft-capping, window 7", 7, {AttentionModifierKind::kSoftCap, 5.0f}),
      SmallCase("ALiBi, window 9", 9, {AttentionModifierKind::kAlibi}),
      SmallCase("prefix-LM 0", 0, {AttentionModifierKind::kPrefixLm, 0.0f, 0}),
      SmallCase("prefix-LM 1", 0, {AttentionModifierKind::kPrefixLm, 0.0f, 1}),
      SmallCase("prefix-LM 9", 0, {AttentionModifierKind::kPrefixLm, 0.0f, 9}),
      SmallCase("prefix-LM 20", 0, {AttentionModifierKind::kPrefixLm, 0.0f, 20}),
      SmallCase("documents of 1", 0, {AttentionModifierKind::kDocument, 0.0f, 0, 1}),
      SmallCase("documents of 1..5", 0, {AttentionModifierKind::kDocument, 0.0f, 0, 5}),
      SmallCase("documents of 1..12", 0, {AttentionModifierKind::kDocument, 0.0f, 0, 12}),
  };
}

// visible[q][k] of one sequence from the definitions, and its 2-D prefix sums.
struct MaskTable {
  int length;
  std::vector<int> sums;  // [(length + 1) x (length + 1)]: visible pairs with q < i, k < j
  int Count(int q_lo, int q_hi, int k_lo, int k_hi) const {
    const auto at = [&](int i, int j) { return sums[static_cast<size_t>(i * (length + 1) + j)]; };
    return at(q_hi + 1, k_hi + 1) - at(q_lo, k_hi + 1) - at(q_hi + 1, k_lo) + at(q_lo, k_lo);
  }
};

MaskTable ReferenceMask(const AttentionCase& c, const testing::AttentionInputs& in, int seq) {
  const int length = in.seq_lens[static_cast<size_t>(seq)];
  MaskTable table{length, std::vector<int>(static_cast<size_t>((length + 1) * (length + 1)), 0)};
  for (int q = 0; q < length; ++q) {
    for (int k = 0; k < length; ++k) {
      const int visible = testing::ReferenceSees(c, in, seq, q, k) ? 1 : 0;
      table.sums[static_cast<size_t>((q + 1) * (length + 1) + k + 1)] =
          visible + table.sums[static_cast<size_t>(q * (length + 1) + k + 1)] +
          table.sums[static_cast<size_t>((q + 1) * (length + 1) + k)] - table.sums[static_cast<size_t>(q * (length + 1) + k)];
    }
  }
  return table;
}

struct ClassCounts {
  int masked = 0;
  int visible = 0;
};

// Every (query range, key range) of the sequence: the classifier's answer against the mask.
template <typename Modifier>
void CheckClassifier(const Modifier& modifier, const MaskTable& mask, int seq, ClassCounts& counts) {
  for (int q_lo = 0; q_lo < mask.length; ++q_lo) {
    for (int q_hi = q_lo; q_hi < mask.length; ++q_hi) {
      for (int k_lo = 0; k_lo < mask.length; ++k_lo) {
        for (int k_hi = k_lo; k_hi < mask.length; ++k_hi) {
          const KeyBlockClass answer = kernels::ClassifyKeyBlock(modifier, seq, q_lo, q_hi, k_lo, k_hi);
          if (answer == KeyBlockClass::kPartial) continue;
          const int visible = mask.Count(q_lo, q_hi, k_lo, k_hi);
          const int area = (q_hi - q_lo + 1) * (k_hi - k_lo + 1);
          const bool right = answer == KeyBlockClass::kMasked ? visible == 0 : visible == area;
          if (!right) {
            CAPTURE(seq, q_lo, q_hi, k_lo, k_hi, visible, area, static_cast<int>(answer));
            FAIL("wrong block class");
          }
          ++(answer == KeyBlockClass::kMasked ? counts.masked : counts.visible);
        }
      }
    }
  }
}

}  // namespace

TEST_CASE("attention modifier masks match their definitions; the block classifier is never wrong", "[cpu]") {
  for (const AttentionCase& c : Cases()) {
    CAPTURE(c.name);
    std::mt19937 rng(7);
    const testing::AttentionInputs in = testing::MakeAttentionInputs(c, testing::TokenOrder::kBySequence, rng);
    const kernels::AttentionModifier descriptor =
        testing::MakeModifier(c, in, in.seq_lens.data(), in.document_starts.data());
    REQUIRE(kernels::ValidAttentionModifier(descriptor));
    ClassCounts counts;
    kernels::DispatchAttentionModifier(
        descriptor, c.num_heads,
        [&](const auto& modifier) {
          for (int seq = 0; seq < static_cast<int>(in.seq_lens.size()); ++seq) {
            const MaskTable mask = ReferenceMask(c, in, seq);
            for (int q = 0; q < mask.length; ++q) {
              const kernels::KeyInterval keys = modifier.Keys(seq, q);
              CHECK(keys.first <= q);
              CHECK(keys.last >= q);
              CHECK(keys.last < mask.length);  // only keys that exist
              for (int k = 0; k < mask.length; ++k) {
                CAPTURE(seq, q, k);
                CHECK(kernels::KeyVisible(keys, k) == (mask.Count(q, q, k, k) == 1));
              }
            }
            CheckClassifier(modifier, mask, seq, counts);
          }
        },
        [] { FAIL("no functor for the case's modifier"); });
    CHECK(counts.masked > 0);
    CHECK(counts.visible > 0);
  }
}

TEST_CASE("ALiBi slopes are Bloom's, for power-of-two and other head counts", "[cpu]") {
  for (int head = 0; head < 8; ++head) {
    CHECK(kernels::AlibiSlope(head, 8) == Approx(std::pow(2.0, -(head + 1))).epsilon(1e-6));
  }
  // 12 heads: the 8 slopes of 8 heads, then 2^-0.5, 2^-1.5, 2^-2.5, 2^-3.5 (every other of 16's).
  for (int head = 0; head < 8; ++head) {
    CHECK(kernels::AlibiSlope(head, 12) == Approx(std::pow(2.0, -(head + 1))).epsilon(1e-6));
  }
  for (int extra = 0; extra < 4; ++extra) {
    CHECK(kernels::AlibiSlope(8 + extra, 12) == Approx(std::pow(2.0, -0.5 - extra)).epsilon(1e-6));
  }
  CHECK(kernels::AlibiSlope(0, 1) == Approx(1.0 / 256));
}

TEST_CASE("attention modifier descriptors: parameters each kind needs, refusals otherwise", "[cpu]") {
  const int seq_lens[] = {4};
  const int starts[] = {0};
  kernels::AttentionModifier m;
  CHECK(kernels::ValidAttentionModifier(m));
  m.window = 3;  // causal takes no window: that is kSlidingWindow
  CHECK_FALSE(kernels::ValidAttentionModifier(m));
  m.kind = AttentionModifierKind::kSlidingWindow;
  CHECK(kernels::ValidAttentionModifier(m));
  m.window = 0;
  CHECK_FALSE(kernels::ValidAttentionModifier(m));
  m.kind = AttentionModifierKind::kSoftCap;
  CHECK_FALSE(kernels::ValidAttentionModifier(m));  // no cap
  m.softcap = 30.0f;
  CHECK(kernels::ValidAttentionModifier(m));
  m.softcap = INFINITY;
  CHECK_FALSE(kernels::ValidAttentionModifier(m));
  m = {};
  m.kind = AttentionModifierKind::kPrefixLm;
  CHECK_FALSE(kernels::ValidAttentionModifier(m));  // no sequence lengths
  m.seq_lens = seq_lens;
  CHECK(kernels::ValidAttentionModifier(m));
  m.prefix_length = -1;
  CHECK_FALSE(kernels::ValidAttentionModifier(m));
  m = {};
  m.kind = AttentionModifierKind::kDocument;
  m.document_starts = starts;
  CHECK_FALSE(kernels::ValidAttentionModifier(m));  // no stride
  m.documents_stride = 1;
  CHECK(kernels::ValidAttentionModifier(m));
  m.kind = static_cast<AttentionModifierKind>(99);
  CHECK_FALSE(kernels::ValidAttentionModifier(m));
  CHECK(kernels::MaxVisibleKeys(m, 100) == 100);
  m = {};
  m.kind = AttentionModifierKind::kSlidingWindow;
  m.window = 30;
  CHECK(kernels::MaxVisibleKeys(m, 100) == 30);
  CHECK(kernels::MaxVisibleKeys(m, 20) == 20);
}

TEST_CASE("without block skipping a window's queries read every key from 0", "[cpu]") {
  kernels::AttentionModifier m;
  m.kind = AttentionModifierKind::kSlidingWindow;
  m.window = 30;
  const kernels::KeyInterval visible = kernels::WindowMask{m.window}.Keys(0, 99);
  CHECK(visible.first == 70);
  CHECK(kernels::ReadKeys(m, visible).first == 70);
  CHECK(kernels::ReadKeys(m, visible).last == 99);
  CHECK(kernels::MaxReadKeys(m, 100) == 30);
  m.skip_masked_blocks = false;
  CHECK(kernels::ValidAttentionModifier(m));
  CHECK(kernels::ReadKeys(m, visible).first == 0);
  CHECK(kernels::ReadKeys(m, visible).last == 99);
  CHECK(kernels::MaxReadKeys(m, 100) == 100);
  CHECK(kernels::MaxVisibleKeys(m, 100) == 30);
}

}  // namespace specd
