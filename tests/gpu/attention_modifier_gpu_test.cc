// Every attention modifier (kernels/attention_modifier.h) in both paged attention kernels against
// the fp64 per-element reference of tests/attention_reference.h, on random inputs with shuffled
// block tables and garbage in every slot a sequence must not see:
//   split-KV kernel (LaunchPagedAttention): mixed batches (prompt chunk, continuation, decodes,
//     verify query) and long decodes that split, with a full, a fifth and no workspace, with
//     masked blocks skipped (the default) and read and masked per element;
//   tensor-core kernel (LaunchPagedAttentionMma and every variant): prompt chunks from 0,
//     continuations, odd lengths, several sequences per row tile, a shuffled token order.
// Windows and documents cross block (16, 3) and key-tile (64, 128) boundaries; the prefix-LM
// prefix is longer than a chunk and than some sequences; ALiBi runs on 12 and 16 heads.
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/gpu/attention_test_support.h"

namespace specd {
namespace {

using kernels::AttentionModifierKind;
using testing::AttentionCase;
using testing::AttentionChunk;
using testing::ModifierSpec;

struct Modifier {
  std::string name;
  int window;
  ModifierSpec spec;
};

const std::vector<Modifier>& Modifiers() {
  static const std::vector<Modifier> modifiers = {
      {"sliding window 100", 100, {}},
      {"soft-capping 5", 0, {AttentionModifierKind::kSoftCap, 5.0f}},
      {"soft-capping 3, window 70", 70, {AttentionModifierKind::kSoftCap, 3.0f}},
      {"ALiBi", 0, {AttentionModifierKind::kAlibi}},
      {"ALiBi, window 150", 150, {AttentionModifierKind::kAlibi}},
      {"prefix-LM 90", 0, {AttentionModifierKind::kPrefixLm, 0.0f, 90}},
      {"prefix-LM 300", 0, {AttentionModifierKind::kPrefixLm, 0.0f, 300}},
      {"documents of 1..40", 0, {AttentionModifierKind::kDocument, 0.0f, 0, 40}},
      {"documents of 1..300", 0, {AttentionModifierKind::kDocument, 0.0f, 0, 300}},
  };
  return modifiers;
}

struct Shape {
  std::string name;
  int head_dim, num_heads, num_kv_heads, block_size;
  std::vector<AttentionChunk> chunks;
  bool shuffled = false;
};

AttentionCase CaseOf(const Modifier& m, const Shape& s) {
  return {m.name + "; " + s.name, s.head_dim, s.num_heads, s.num_kv_heads, s.block_size, m.window, s.chunks, m.spec};
}

// Split-KV kernel shapes: a mixed batch, and long decodes beside short queries (splits).
const std::vector<Shape>& DecodeShapes() {
  static const std::vector<Shape> shapes = {
      {"mixed batch, GQA 4, head dim 128, block size 16", 128, 16, 4, 16,
       {{0, 37}, {45, 19}, {299, 1}, {1030, 1}, {123, 5}}},
      {"mixed batch, GQA 6 (12 heads), head dim 64, block size 3", 64, 12, 2, 3,
       {{0, 37}, {45, 19}, {299, 1}, {1030, 1}, {123, 5}}},
      {"long decodes and a verify query, GQA 4, head dim 128, block size 16", 128, 32, 8, 16,
       {{6999, 1}, {2500, 3}, {4000, 1}, {10, 20}}},
  };
  return shapes;
}

// Tensor-core kernel shapes: prompt chunks and continuations; row tiles straddle sequences.
const std::vector<Shape>& PrefillShapes() {
  static const std::vector<Shape> shapes = {
      {"prompt of 400 from 0, GQA 4, head dim 128, block size 16", 128, 16, 4, 16, {{0, 400}}},
      {"mixed batch, GQA 8, head dim 64, block size 3", 64, 16, 2, 3,
       {{0, 1}, {0, 17}, {0, 130}, {37, 100}, {300, 1}, {200, 17}}},
      {"continuation: 250 after 260 cached, and a prompt of 200, MHA, head dim 128", 128, 4, 4, 16,
       {{260, 250}, {0, 200}}},
      {"shuffled token order, GQA 2, head dim 64, block size 16", 64, 4, 2, 16, {{0, 150}, {20, 70}, {0, 1}}, true},
  };
  return shapes;
}

}  // namespace

TEST_CASE("paged attention (split-KV) matches an fp64 reference under every modifier", "[gpu]") {
  const size_t m = GENERATE(range(size_t{0}, Modifiers().size()));
  const size_t s = GENERATE(range(size_t{0}, DecodeShapes().size()));
  const AttentionCase c = CaseOf(Modifiers()[m], DecodeShapes()[s]);
  CAPTURE(c.name);
  std::mt19937 rng(static_cast<unsigned>(4000 + 16 * m + s));
  const auto in = testing::MakeAttentionInputs(c, testing::TokenOrder::kShuffled, rng);
  testing::CheckPagedAttentionModes(c, in, /*must_split=*/false);
}

// FlexAttention without a block mask (the flexdecoding pair's baseline): every key from 0 read,
// the masked ones (garbage before a window or a document) masked per element, whole splits and
// warps masked among them.
TEST_CASE("paged attention (split-KV) without block skipping matches an fp64 reference under every modifier",
          "[gpu]") {
  const size_t m = GENERATE(range(size_t{0}, Modifiers().size()));
  const size_t s = GENERATE(range(size_t{0}, DecodeShapes().size()));
  AttentionCase c = CaseOf(Modifiers()[m], DecodeShapes()[s]);
  c.modifier.skip_masked_blocks = false;
  CAPTURE(c.name);
  std::mt19937 rng(static_cast<unsigned>(6000 + 16 * m + s));
  const auto in = testing::MakeAttentionInputs(c, testing::TokenOrder::kShuffled, rng);
  testing::CheckPagedAttentionModes(c, in, /*must_split=*/false);
}

TEST_CASE("paged attention mma matches an fp64 reference under every modifier", "[gpu]") {
  const size_t m = GENERATE(range(size_t{0}, Modifiers().size()));
  const size_t s = GENERATE(range(size_t{0}, PrefillShapes().size()));
  const AttentionCase c = CaseOf(Modifiers()[m], PrefillShapes()[s]);
  CAPTURE(c.name);
  std::mt19937 rng(static_cast<unsigned>(5000 + 16 * m + s));
  const auto order = PrefillShapes()[s].shuffled ? testing::TokenOrder::kShuffled : testing::TokenOrder::kBySequence;
  const auto in = testing::MakeAttentionInputs(c, order, rng);
  testing::CheckPagedAttentionMmaVariants(c, in);
}

}  // namespace specd
