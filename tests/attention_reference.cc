#include "tests/attention_reference.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <utility>

#include "engine/model/dtype.h"
#include "tests/bf16_vectors.h"

namespace specd::testing {
namespace {

using kernels::AttentionModifierKind;

// Fills the block tables: each sequence's blocks from a shuffled pool larger than needed (the
// unused ones stay garbage), then two unused columns of real (wrong) block ids.
void MakeBlockTables(const AttentionCase& c, AttentionInputs& in, std::mt19937& rng) {
  const int num_seqs = static_cast<int>(c.chunks.size());
  std::vector<int> blocks_needed;
  int total_blocks = 0;
  for (const AttentionChunk& chunk : c.chunks) {
    const int context = chunk.start + chunk.num_queries;
    in.seq_lens.push_back(context);
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

// kDocument: each sequence cut into documents of 1 .. max_document positions, rows padded with
// INT_MAX to the longest.
void MakeDocuments(const AttentionCase& c, AttentionInputs& in, std::mt19937& rng) {
  if (c.modifier.kind != AttentionModifierKind::kDocument) return;
  std::uniform_int_distribution<int> length(1, c.modifier.max_document);
  std::vector<std::vector<int>> starts(in.seq_lens.size());
  for (size_t s = 0; s < starts.size(); ++s) {
    for (int start = 0; start < in.seq_lens[s]; start += length(rng)) starts[s].push_back(start);
    in.documents_stride = std::max(in.documents_stride, static_cast<int>(starts[s].size()));
  }
  for (std::vector<int>& row : starts) {
    row.resize(static_cast<size_t>(in.documents_stride), INT_MAX);
    in.document_starts.insert(in.document_starts.end(), row.begin(), row.end());
  }
}

// The document of position p: how many documents of the sequence start at or before it.
int DocumentOf(const AttentionInputs& in, int seq, int p) {
  const auto row = in.document_starts.begin() + static_cast<std::ptrdiff_t>(seq) * in.documents_stride;
  return static_cast<int>(std::upper_bound(row, row + in.documents_stride, p) - row);
}

// ALiBi slopes as Bloom's build_alibi_tensor computes them.
std::vector<double> AlibiSlopes(int num_heads) {
  const int closest = 1 << static_cast<int>(std::floor(std::log2(num_heads)));
  std::vector<double> slopes;
  for (int i = 1; i <= closest; ++i) slopes.push_back(std::pow(std::pow(2.0, -8.0 / closest), i));
  for (int i = 1; i < 2 * (num_heads - closest); i += 2) slopes.push_back(std::pow(std::pow(2.0, -4.0 / closest), i));
  return slopes;
}

// The score the softmax sees from the scaled score s, in the precision T.
template <typename T>
T Transform(const AttentionCase& c, const std::vector<double>& slopes, T s, int q, int k, int head) {
  switch (c.modifier.kind) {
    case AttentionModifierKind::kSoftCap:
      return static_cast<T>(c.modifier.softcap) * std::tanh(s / static_cast<T>(c.modifier.softcap));
    case AttentionModifierKind::kAlibi:
      return s - static_cast<T>(slopes[static_cast<size_t>(head)]) * static_cast<T>(q - k);
    default:
      return s;
  }
}

}  // namespace

bool ReferenceSees(const AttentionCase& c, const AttentionInputs& in, int seq, int q, int k) {
  switch (c.modifier.kind) {
    case AttentionModifierKind::kPrefixLm:
      return k <= q || (q < c.modifier.prefix_length && k < c.modifier.prefix_length);
    case AttentionModifierKind::kDocument:
      return k <= q && DocumentOf(in, seq, k) == DocumentOf(in, seq, q);
    default:
      return k <= q && (c.sliding_window == 0 || q - k < c.sliding_window);
  }
}

AttentionInputs MakeAttentionInputs(const AttentionCase& c, TokenOrder order, std::mt19937& rng) {
  AttentionInputs in;
  MakeBlockTables(c, in, rng);
  FillCaches(c, in, rng);
  MakeQueries(c, order, in, rng);
  MakeDocuments(c, in, rng);
  return in;
}

kernels::AttentionModifier MakeModifier(const AttentionCase& c, const AttentionInputs& in, const int* seq_lens,
                                        const int* document_starts) {
  kernels::AttentionModifier m;
  m.kind = c.modifier.kind == AttentionModifierKind::kCausal && c.sliding_window > 0
               ? AttentionModifierKind::kSlidingWindow
               : c.modifier.kind;
  m.window = c.sliding_window;
  m.softcap = c.modifier.softcap;
  m.prefix_length = c.modifier.prefix_length;
  m.seq_lens = seq_lens;
  m.document_starts = document_starts;
  m.documents_stride = in.documents_stride;
  m.skip_masked_blocks = c.modifier.skip_masked_blocks;
  return m;
}

// Per element from the definitions: every written key of the sequence, masked or not.
AttentionReference ComputeAttentionReference(const AttentionCase& c, const AttentionInputs& in, float scale) {
  const int num_tokens = static_cast<int>(in.positions.size());
  const int group = c.num_heads / c.num_kv_heads;
  const size_t out_elements = static_cast<size_t>(num_tokens) * c.num_heads * c.head_dim;
  AttentionReference ref{std::vector<double>(out_elements), std::vector<float>(out_elements)};
  const std::vector<float> q = BF16ToFloats(in.q), k_cache = BF16ToFloats(in.k_cache),
                           v_cache = BF16ToFloats(in.v_cache);
  const std::vector<double> slopes = AlibiSlopes(c.num_heads);
  std::vector<int> keys;
  std::vector<double> scores, sum;
  std::vector<float> scores_f, sum_f;
  for (int t = 0; t < num_tokens; ++t) {
    const int seq = in.token_seq[static_cast<size_t>(t)];
    const int pos = in.positions[static_cast<size_t>(t)];
    keys.clear();
    for (int k = 0; k < in.seq_lens[static_cast<size_t>(seq)]; ++k) {
      if (ReferenceSees(c, in, seq, pos, k)) keys.push_back(k);
    }
    for (int h = 0; h < c.num_heads; ++h) {
      const int kv_head = h / group;
      const float* q_row = q.data() + static_cast<size_t>(t) * in.q_stride + static_cast<size_t>(h) * c.head_dim;
      const auto kv_base = [&](int key) {
        return (Slot(c, in, seq, key) * c.num_kv_heads + static_cast<size_t>(kv_head)) * c.head_dim;
      };
      scores.clear();
      scores_f.clear();
      for (int key : keys) {
        const float* k_row = k_cache.data() + kv_base(key);
        double dot = 0.0;
        float dot_f = 0.0f;
        for (int d = 0; d < c.head_dim; ++d) {
          dot += static_cast<double>(q_row[d]) * k_row[d];
          dot_f += q_row[d] * k_row[d];
        }
        scores.push_back(Transform(c, slopes, dot * scale, pos, key, h));
        scores_f.push_back(Transform(c, slopes, dot_f * scale, pos, key, h));
      }
      const double max_score = *std::max_element(scores.begin(), scores.end());
      const float max_score_f = *std::max_element(scores_f.begin(), scores_f.end());
      double total = 0.0;
      float total_f = 0.0f;
      for (size_t j = 0; j < keys.size(); ++j) {
        scores[j] = std::exp(scores[j] - max_score);
        scores_f[j] = std::exp(scores_f[j] - max_score_f);
        total += scores[j];
        total_f += scores_f[j];
      }
      sum.assign(static_cast<size_t>(c.head_dim), 0.0);
      sum_f.assign(static_cast<size_t>(c.head_dim), 0.0f);
      for (size_t j = 0; j < keys.size(); ++j) {
        const float* v_row = v_cache.data() + kv_base(keys[j]);
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

}  // namespace specd::testing
