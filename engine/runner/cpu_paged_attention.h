// The fp32 reference of the paged attention contract (kernels/paged_attention.h) with every
// attention modifier (kernels/attention_modifier.h): the same functors as the kernels, applied per
// element (mask, then score transform) over every key the sequence has written, and a plain
// two-pass softmax. It skips nothing: it is the reference the kernels' block skipping is judged
// against. Used by the CPU runner and the attention tests; stateless.
#pragma once

#include <cstdint>
#include <span>

#include "kernels/attention_modifier.h"

namespace specd {

struct CpuAttentionShape {
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;  // divides num_heads: query head h reads KV head h / (num_heads / num_kv_heads)
  int64_t head_dim = 0;
  int64_t block_size = 0;
  float scale = 0.0f;        // usually 1 / sqrt(head_dim)
};

// One sequence's cached keys and values: position p lives in slot
// block_table[p / block_size] * block_size + p % block_size.
struct CpuSequenceKv {
  const float* keys = nullptr;    // [num_slots, num_kv_heads, head_dim]
  const float* values = nullptr;  // [num_slots, num_kv_heads, head_dim]
  std::span<const int32_t> block_table;
  int64_t num_keys = 0;           // positions [0, num_keys) are written
  int seq = 0;                    // the sequence's index in the modifier's per-sequence arrays
};

// Attention of the query at `position` of sequence kv over its keys under `modifier` (CHECKed to
// be well formed). query, out: [num_heads, head_dim].
void CpuPagedAttention(const kernels::AttentionModifier& modifier, const CpuAttentionShape& shape,
                       const CpuSequenceKv& kv, int64_t position, const float* query, float* out);

}  // namespace specd
