// Small kernels only the benchmark pairs need, for their baselines:
//   LaunchKvGather    paged_attn: copies each sequence's K/V blocks out of the paged cache into a
//                     contiguous buffer (what an attention without a block table needs first);
//   LaunchWidenBf16   tensor_cores: the fp32 copy of bf16 operands an fp32 SGEMM reads (exact).
// Return cudaErrorInvalidValue for a negative count or, when there is work, a null array.
#pragma once

#include <cstdint>

#include <cuda_bf16.h>
#include <cuda_runtime.h>

namespace specd::bench {

// Destination block b (= seq * blocks_per_seq + i, in order) <- source block block_ids[b], for K
// and V alike; a block is block_elements values (block_size * num_kv_heads * head_dim), a multiple
// of 8, and every array is 16-byte aligned.
struct KvGatherParams {
  const __nv_bfloat16* k_cache = nullptr;  // [num_cache_blocks, block_elements]
  const __nv_bfloat16* v_cache = nullptr;  // [num_cache_blocks, block_elements]
  const int* block_ids = nullptr;          // [num_blocks]: the block tables, row after row
  __nv_bfloat16* k_out = nullptr;          // [num_blocks, block_elements]
  __nv_bfloat16* v_out = nullptr;          // [num_blocks, block_elements]
  int num_blocks = 0;
  int64_t block_elements = 0;
};
cudaError_t LaunchKvGather(const KvGatherParams& params, cudaStream_t stream);

// out[i] = float(in[i]).
struct WidenBf16Params {
  const __nv_bfloat16* in = nullptr;  // [count]
  float* out = nullptr;               // [count]
  int64_t count = 0;
};
cudaError_t LaunchWidenBf16(const WidenBf16Params& params, cudaStream_t stream);

}  // namespace specd::bench
