#include "tests/gpu/attention_test_support.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include <catch2/catch.hpp>

#include "engine/model/dtype.h"
#include "tests/gpu/gpu_test_support.h"

namespace specd::testing {
namespace {

// Fills the block tables: each sequence's blocks from a shuffled pool larger than needed (the
// unused ones stay garbage), then two unused columns of real (wrong) block ids.
void MakeBlockTables(const AttentionCase& c, AttentionInputs& in, std::mt19937& rng) {
  const int num_seqs = static_cast<int>(c.chunks.size());
  std::vector<int> blocks_needed;
  int total_blocks = 0;
  for (const AttentionChunk& chunk : c.chunks) {
    const int context = chunk.start + chunk.num_queries;
    blocks_needed.push_back((context + c.block_size - 1) / c.block_size);
    total_blocks += blocks_needed.back();
    in.max_blocks_per_seq = std::max(in.max_blocks_per_seq, blocks_needed.back());
  }
  in.max_blocks_per_seq += 2;  // unused columns, filled with real (wrong) block ids
  in.num_blocks = 2 * total_blocks + 5;

  std::vector<int> pool(static_cast<size_t>(in.num_blocks));
  for (int b = 0; b < in.num_blocks; ++b) pool[static_cast<size_t>(b)] = b;
  std::shuffle(pool.begin(), pool.end(), rng);
  std::uniform_int_distribution<int> any_block(0, in.num_blocks - 1);
  in.block_tables.assign(static_cast<size_t>(num_seqs) * in.max_blocks_per_seq, 0);
  size_t next = 0;
  for (int s = 0; s < num_seqs; ++s) {
    for (int i = 0; i < in.max_blocks_per_seq; ++i) {
      in.block_tables[static_cast<size_t>(s) * in.max_blocks_per_seq + i] =
          i < blocks_needed[static_cast<size_t>(s)] ? pool[next++] : any_block(rng);
    }
  }
}

// The cache slot of sequence seq's position p.
size_t Slot(const AttentionCase& c, const AttentionInputs& in, int seq, int p) {
  const int block = in.block_tables[static_cast<size_t>(seq) * in.max_blocks_per_seq + p / c.block_size];
  return static_cast<size_t>(block) * c.block_size + static_cast<size_t>(p % c.block_size);
}

// Garbage everywhere (shifted, wide: a wrong slot read moves the result far), then the
// sequences' own keys and values.
void FillCaches(const AttentionCase& c, AttentionInputs& in, std::mt19937& rng) {
  const size_t row = static_cast<size_t>(c.num_kv_heads) * c.head_dim;
  const size_t cache_elements = static_cast<size_t>(in.num_blocks) * c.block_size * row;
  in.k_cache = RandomBF16(cache_elements, rng, 3.0f, 4.0f);
  in.v_cache = RandomBF16(cache_elements, rng, -3.0f, 4.0f);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (size_t s = 0; s < c.chunks.size(); ++s) {
    const AttentionChunk& chunk = c.chunks[s];
    for (int p = 0; p < chunk.start + chunk.num_queries; ++p) {
      const size_t slot = Slot(c, in, static_cast<int>(s), p);
      for (size_t e = 0; e < row; ++e) {
        in.k_cache[slot * row + e] = FloatToBF16(normal(rng));
        in.v_cache[slot * row + e] = FloatToBF16(normal(rng));
      }
    }
  }
}

// The query tokens in the given order; q rows laid out like the fused QKV projection (q heads,
// then k and v, which the kernel must skip), so q_stride > num_heads * head_dim.
void MakeQueries(const AttentionCase& c, TokenOrder order, AttentionInputs& in, std::mt19937& rng) {
  std::vector<std::pair<int, int>> tokens;  // (seq, position)
  for (size_t s = 0; s < c.chunks.size(); ++s) {
    const AttentionChunk& chunk = c.chunks[s];
    for (int p = chunk.start; p < chunk.start + chunk.num_queries; ++p) tokens.emplace_back(static_cast<int>(s), p);
  }
  if (order == TokenOrder::kShuffled) std::shuffle(tokens.begin(), tokens.end(), rng);
  for (const auto& [seq, position] : tokens) {
    in.token_seq.push_back(seq);
    in.positions.push_back(position);
  }
  in.q_stride = (c.num_heads + 2 * c.num_kv_heads) * c.head_dim;
  in.q = RandomBF16(tokens.size() * static_cast<size_t>(in.q_stride), rng, 0.0f, 1.5f);
}

}  // namespace

AttentionInputs MakeAttentionInputs(const AttentionCase& c, TokenOrder order, std::mt19937& rng) {
  AttentionInputs in;
  MakeBlockTables(c, in, rng);
  FillCaches(c, in, rng);
  MakeQueries(c, order, in, rng);
  return in;
}

// Straight from the contract in paged_attention.h.
AttentionReference ComputeAttentionReference(const AttentionCase& c, const AttentionInputs& in, float scale) {
  const int num_tokens = static_cast<int>(in.positions.size());
  const int group = c.num_heads / c.num_kv_heads;
  const size_t out_elements = static_cast<size_t>(num_tokens) * c.num_heads * c.head_dim;
  AttentionReference ref{std::vector<double>(out_elements), std::vector<float>(out_elements)};
  const std::vector<float> q = BF16ToFloats(in.q), k_cache = BF16ToFloats(in.k_cache),
                           v_cache = BF16ToFloats(in.v_cache);
  std::vector<size_t> slots;
  std::vector<double> scores, sum;
  std::vector<float> scores_f, sum_f;
  for (int t = 0; t < num_tokens; ++t) {
    const int seq = in.token_seq[static_cast<size_t>(t)];
    const int pos = in.positions[static_cast<size_t>(t)];
    const int first = c.sliding_window > 0 ? std::max(0, pos - c.sliding_window + 1) : 0;
    slots.clear();
    for (int p = first; p <= pos; ++p) slots.push_back(Slot(c, in, seq, p));
    for (int h = 0; h < c.num_heads; ++h) {
      const int kv_head = h / group;
      const float* q_row = q.data() + static_cast<size_t>(t) * in.q_stride + static_cast<size_t>(h) * c.head_dim;
      const auto kv_base = [&](size_t slot) {
        return (slot * c.num_kv_heads + static_cast<size_t>(kv_head)) * c.head_dim;
      };
      scores.clear();
      scores_f.clear();
      for (size_t slot : slots) {
        const float* k_row = k_cache.data() + kv_base(slot);
        double dot = 0.0;
        float dot_f = 0.0f;
        for (int d = 0; d < c.head_dim; ++d) {
          dot += static_cast<double>(q_row[d]) * k_row[d];
          dot_f += q_row[d] * k_row[d];
        }
        scores.push_back(dot * scale);
        scores_f.push_back(dot_f * scale);
      }
      const double max_score = *std::max_element(scores.begin(), scores.end());
      const float max_score_f = *std::max_element(scores_f.begin(), scores_f.end());
      double total = 0.0;
      float total_f = 0.0f;
      for (size_t j = 0; j < slots.size(); ++j) {
        scores[j] = std::exp(scores[j] - max_score);
        scores_f[j] = std::exp(scores_f[j] - max_score_f);
        total += scores[j];
        total_f += scores_f[j];
      }
      sum.assign(static_cast<size_t>(c.head_dim), 0.0);
      sum_f.assign(static_cast<size_t>(c.head_dim), 0.0f);
      for (size_t j = 0; j < slots.size(); ++j) {
        const float* v_row = v_cache.data() + kv_base(slots[j]);
        for (int d = 0; d < c.head_dim; ++d) {
          sum[static_cast<size_t>(d)] += scores[j] * v_row[d];
          sum_f[static_cast<size_t>(d)] += scores_f[j] * v_row[d];
        }
      }
      const size_t out_base = (static_cast<size_t>(t) * c.num_heads + static_cast<size_t>(h)) * c.head_dim;
      for (int d = 0; d < c.head_dim; ++d) {
        ref.exact[out_base + static_cast<size_t>(d)] = sum[static_cast<size_t>(d)] / total;
        ref.same_precision[out_base + static_cast<size_t>(d)] =
            BF16ToFloat(FloatToBF16(sum_f[static_cast<size_t>(d)] / total_f));
      }
    }
  }
  return ref;
}

AttentionDeviceInputs::AttentionDeviceInputs(const AttentionCase& c, const AttentionInputs& in, float scale)
    : q(in.q),
      k_cache(in.k_cache),
      v_cache(in.v_cache),
      block_tables(in.block_tables),
      token_seq(in.token_seq),
      positions(in.positions),
      out(std::vector<uint16_t>(in.positions.size() * static_cast<size_t>(c.num_heads) * c.head_dim)) {
  params.q = AsBF16(q.get());
  params.q_stride = in.q_stride;
  params.k_cache = AsBF16(k_cache.get());
  params.v_cache = AsBF16(v_cache.get());
  params.block_tables = block_tables.get();
  params.max_blocks_per_seq = in.max_blocks_per_seq;
  params.token_seq = token_seq.get();
  params.positions = positions.get();
  params.out = AsBF16(out.get());
  params.num_tokens = static_cast<int>(in.positions.size());
  params.num_heads = c.num_heads;
  params.num_kv_heads = c.num_kv_heads;
  params.head_dim = c.head_dim;
  params.block_size = c.block_size;
  params.scale = scale;
  params.sliding_window = c.sliding_window;
}

void CheckAttentionOutput(const AttentionReference& ref, const std::vector<uint16_t>& out) {
  const std::vector<float> got = BF16ToFloats(out);
  RequireAllFinite(got);  // every element written
  double max_ref = 0.0, max_error = 0.0;
  for (size_t i = 0; i < got.size(); ++i) {
    max_ref = std::max(max_ref, std::abs(ref.exact[i]));
    max_error = std::max(max_error, std::abs(got[i] - ref.exact[i]));
  }
  CAPTURE(max_error, max_ref);
  CheckErrorNearReference(ref.exact, ref.same_precision, got);
  CHECK(max_error <= 1e-2 * max_ref);
}

kernels::PagedAttentionParams ShapeOnlyAttentionParams() {
  kernels::PagedAttentionParams params;
  params.q_stride = 8 * 128;
  params.max_blocks_per_seq = 4;
  params.num_tokens = 1;
  params.num_heads = 8;
  params.num_kv_heads = 2;
  params.head_dim = 128;
  params.block_size = 16;
  params.scale = 0.1f;
  return params;
}

void CheckSharedAttentionRefusals(AttentionLauncher launch) {
  kernels::PagedAttentionParams params = ShapeOnlyAttentionParams();
  params.head_dim = 96;
  CHECK(launch(params, nullptr) == cudaErrorInvalidValue);
  params.head_dim = 128;
  params.num_kv_heads = 3;  // 8 query heads do not split into 3 groups
  CHECK(launch(params, nullptr) == cudaErrorInvalidValue);
  params.num_kv_heads = 0;
  CHECK(launch(params, nullptr) == cudaErrorInvalidValue);
  params.num_kv_heads = 2;
  params.block_size = 0;
  CHECK(launch(params, nullptr) == cudaErrorInvalidValue);
  params.block_size = 16;
  params.num_tokens = 0;  // an empty batch is a no-op, whatever the pointers
  CHECK(launch(params, nullptr) == cudaSuccess);
  CHECK(cudaGetLastError() == cudaSuccess);
}

}  // namespace specd::testing
