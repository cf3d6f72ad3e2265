// Attention over the paged KV cache for any mix of query lengths (prompt chunks, single decode
// tokens, k+1 verify tokens), bf16 in and out, fp32 softmax and accumulation.
//
// Query token t belongs to sequence token_seq[t] and sits at position positions[t]; it attends
// to that sequence's keys at the positions its modifier shows it (kernels/attention_modifier.h:
// [first, last]; causal by default: [0, positions[t]], with a sliding window
// [positions[t] - window + 1, positions[t]]), with the modifier's score transform, found through
// the block table (entries of keys no query sees are never read: they may be anything):
//   slot(p) = block_tables[seq * max_blocks_per_seq + p / block_size] * block_size + p % block_size
// GQA: query head h reads KV head h / (num_heads / num_kv_heads).
// CUDA-core kernel, split-KV (flash-decoding) when the batch is too small to fill the GPU or a
// key range is long: each split's partial result goes to the caller's workspace and a merge
// kernel combines them; a short range that few CTAs would split goes to one wider CTA instead.
// Without a workspace (or with one too small) it splits less or not at all; the result is the same
// up to fp32 rounding. The split plan depends on num_tokens and
// max_blocks_per_seq, so a token's result can differ in the last bits from batch to batch;
// without a workspace it depends on that token's own inputs only (batch-invariant).
#pragma once

#include <cstddef>

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "kernels/attention_modifier.h"

namespace specd::kernels {

struct PagedAttentionParams {
  const __nv_bfloat16* q = nullptr;        // [num_tokens, q_stride], heads at [h * head_dim]
  int q_stride = 0;                        // elements between consecutive tokens' queries
  const __nv_bfloat16* k_cache = nullptr;  // [num_blocks * block_size, num_kv_heads, head_dim]
  const __nv_bfloat16* v_cache = nullptr;  // [num_blocks * block_size, num_kv_heads, head_dim]
  const int* block_tables = nullptr;       // [num_seqs, max_blocks_per_seq]
  int max_blocks_per_seq = 0;              // also bounds every key range: max_blocks_per_seq * block_size
  const int* token_seq = nullptr;          // [num_tokens]
  const int* positions = nullptr;          // [num_tokens]
  __nv_bfloat16* out = nullptr;            // [num_tokens, num_heads, head_dim]
  int num_tokens = 0;
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;                        // 64 or 128
  int block_size = 0;
  float scale = 0.0f;                      // usually 1 / sqrt(head_dim)
  AttentionModifier modifier;              // causal unless set; cudaErrorInvalidValue if malformed
  // Split-KV scratch, 16-byte aligned, owned by the caller and reused across calls on one stream
  // (its contents need no initialisation). nullptr / 0: never split.
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
};

// Workspace bytes that let LaunchPagedAttention split as much as it wants for batches of up to
// max_num_tokens query tokens, num_heads query heads and key ranges of up to max_context keys, on
// the current device. At most 64 MiB; 0 when such batches never split.
size_t PagedAttentionWorkspaceBytes(int max_num_tokens, int num_heads, int head_dim, int max_context);

// cudaErrorInvalidValue for a head dim other than 64 or 128, inconsistent head counts or a malformed
// modifier.
cudaError_t LaunchPagedAttention(const PagedAttentionParams& params, cudaStream_t stream);

}  // namespace specd::kernels
