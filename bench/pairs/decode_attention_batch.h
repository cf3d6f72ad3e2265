// DecodeAttentionBatch: one decode step's attention on the GPU, for the attention pairs
// (paged_attn, flexdecoding): `batch` sequences of `context` cached positions each, one query token
// a sequence at position context - 1, random bf16 queries, keys and values (kernels/random_fill.h:
// the same values for a seed on every run), the output and the split-KV workspace. Sequence s owns
// the blocks of its block-table row:
//   kIdentity   block i of sequence s is s * blocks_per_seq + i: each sequence's K/V contiguous
//   kScattered  a random permutation of all blocks: the paged cache after many allocations and frees
// Its fp64 reference of a token's attention over a key range judges the kernels' outputs.
// Owns its device memory; harness thread, default stream.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <cuda_bf16.h>

#include "engine/base/status.h"
#include "engine/runner/cuda/device_buffer.h"
#include "kernels/paged_attention.h"

namespace specd::bench {

// Defaults: Llama-3.1-8B's attention (32 query heads, 8 KV heads, head dim 128), 16-slot blocks.
struct DecodeAttentionShape {
  int batch = 8;
  int context = 4096;  // cached positions a sequence, a multiple of block_size
  int num_heads = 32;
  int num_kv_heads = 8;
  int head_dim = 128;
  int block_size = 16;
};

enum class BlockLayout { kIdentity, kScattered };

class DecodeAttentionBatch {
 public:
  static StatusOr<std::unique_ptr<DecodeAttentionBatch>> Create(const DecodeAttentionShape& shape, BlockLayout layout,
                                                                uint64_t seed);

  // Causal attention of the batch's tokens over its cache, into output(), with the full workspace.
  kernels::PagedAttentionParams Params() const;

  const DecodeAttentionShape& shape() const { return shape_; }
  int blocks_per_seq() const { return shape_.context / shape_.block_size; }
  int64_t block_elements() const;  // block_size * num_kv_heads * head_dim
  const __nv_bfloat16* k_cache() const { return k_cache_.get(); }
  const __nv_bfloat16* v_cache() const { return v_cache_.get(); }
  const int* block_tables() const { return block_tables_.get(); }  // [batch, blocks_per_seq], device

  // The output, widened to float: [batch, num_heads, head_dim].
  StatusOr<std::vector<float>> Output() const;
  // Token `token`'s attention over keys [first_key, context - 1] in fp64 from the bf16 inputs:
  // [num_heads, head_dim].
  StatusOr<std::vector<double>> Reference(int token, int first_key) const;

 private:
  DecodeAttentionBatch(const DecodeAttentionShape& shape, std::vector<int> host_block_tables)
      : shape_(shape), host_block_tables_(std::move(host_block_tables)) {}
  Status Allocate(uint64_t seed);
  // The K and V rows of `token`'s sequence at positions [first, last], as floats: [keys, num_kv_heads * head_dim].
  StatusOr<std::vector<float>> CacheRows(const __nv_bfloat16* cache, int token, int first, int last) const;

  DecodeAttentionShape shape_;
  std::vector<int> host_block_tables_;           // [batch, blocks_per_seq]
  DeviceBuffer<__nv_bfloat16> q_;                // [batch, num_heads * head_dim]
  DeviceBuffer<__nv_bfloat16> k_cache_;          // [batch * context, num_kv_heads, head_dim]
  DeviceBuffer<__nv_bfloat16> v_cache_;          // [batch * context, num_kv_heads, head_dim]
  DeviceBuffer<int> block_tables_;               // [batch, blocks_per_seq]
  DeviceBuffer<int> token_seq_;                  // [batch]: s
  DeviceBuffer<int> positions_;                  // [batch]: context - 1
  DeviceBuffer<__nv_bfloat16> out_;              // [batch, num_heads, head_dim]
  DeviceBuffer<uint8_t> workspace_;              // split-KV partials
};

}  // namespace specd::bench
