// Tensor-core attention over the paged KV cache for prefill-shaped batches: query chunks of many
// tokens. Same contract as LaunchPagedAttention (kernels/paged_attention.h: PagedAttentionParams,
// attention modifiers, GQA, head dim 64 or 128, any mix of sequences), bf16 in and
// out, fp32 softmax and accumulation; the workspace fields are ignored (no split-KV, so a batch
// of a few decode tokens over long contexts belongs to LaunchPagedAttention). P is rounded to
// bf16 before O += P V, as in FlashAttention.
//
// Work split: the batch's tokens are cut into tiles of consecutive batch rows (128 for the
// default), one work item per (row tile, query head); the default kernel is persistent (one CTA
// per SM taking items in turn), the other variants run a CTA per item. Inside a tile the CTA
// handles each maximal run of rows of the same sequence in turn, over that run's key range;
// masks are per row, so ANY token order is correct. It is fast when the tokens of a sequence's
// chunk are consecutive in the batch with increasing positions (what the runner produces): a
// tile then holds one run, or a few at chunk boundaries. Kernel: wgmma on sm_90a (the image an
// H100 or H200 loads), mma.sync on plain sm_90.
//
// Preconditions (checked, else cudaErrorInvalidValue): head_dim 64 or 128; num_heads a multiple of
// num_kv_heads; block_size > 0; q, k_cache and v_cache 16-byte aligned; q_stride a multiple of 8
// (16-byte rows) and >= num_heads * head_dim; out 4-byte aligned; at most 65535 query heads;
// modifier.skip_masked_blocks set (reading masked blocks is the split-KV kernel's baseline mode only).
// Unchecked (as for LaunchPagedAttention): positions[t] < max_blocks_per_seq * block_size,
// scale > 0.
#pragma once

#include <cuda_runtime.h>

#include "kernels/paged_attention.h"

namespace specd::kernels {

cudaError_t LaunchPagedAttentionMma(const PagedAttentionParams& params, cudaStream_t stream);

// Tuning hooks (benchmarks and tests): the kernel comes in a few shapes (warp-specialized wgmma,
// persistent or a CTA per row tile; wgmma with 128 or 64 rows per CTA; mma.sync with 128); variant
// 0 is the one LaunchPagedAttentionMma uses. Every variant computes the same function.
int PagedAttentionMmaNumVariants();
const char* PagedAttentionMmaVariantName(int variant);
cudaError_t LaunchPagedAttentionMmaVariant(const PagedAttentionParams& params, int variant, cudaStream_t stream);

}  // namespace specd::kernels
