// The scaffolding of the paged attention tests (paged_attention_test.cc for the split-KV kernel,
// paged_attention_mma_test.cc for the tensor-core one): a batch of sequences over a paged KV cache
// with shuffled block tables and random garbage in every slot a sequence must not see, the q rows
// laid out like the fused QKV projection; an fp64 reference straight from the contract in
// kernels/paged_attention.h; the inputs on the device; and the check of the kernel's output.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/paged_attention.h"
#include "tests/gpu/device_array.h"

namespace specd::testing {

// One sequence of the batch: query tokens at positions [start, start + num_queries); the cache
// holds its keys and values at positions [0, start + num_queries).
struct AttentionChunk {
  int start;
  int num_queries;
};

struct AttentionCase {
  std::string name;
  int head_dim;
  int num_heads;
  int num_kv_heads;
  int block_size;
  int sliding_window;
  std::vector<AttentionChunk> chunks;
};

// Host copies of everything the kernel reads.
struct AttentionInputs {
  int q_stride = 0;
  int num_blocks = 0;
  int max_blocks_per_seq = 0;
  std::vector<uint16_t> q;        // [num_tokens, q_stride]
  std::vector<uint16_t> k_cache;  // [num_blocks * block_size, num_kv_heads, head_dim]
  std::vector<uint16_t> v_cache;  // [num_blocks * block_size, num_kv_heads, head_dim]
  std::vector<int> block_tables;  // [num_seqs, max_blocks_per_seq]
  std::vector<int> token_seq;     // [num_tokens]
  std::vector<int> positions;     // [num_tokens]
};

// Query tokens sequence by sequence with increasing positions (as the runner lays them out), or
// in a random order.
enum class TokenOrder { kBySequence, kShuffled };

AttentionInputs MakeAttentionInputs(const AttentionCase& c, TokenOrder order, std::mt19937& rng);

struct AttentionReference {
  std::vector<double> exact;          // fp64 from the bf16 inputs
  std::vector<float> same_precision;  // fp32, plain (two-pass) softmax, output rounded to bf16
};

AttentionReference ComputeAttentionReference(const AttentionCase& c, const AttentionInputs& in, float scale);

// The inputs on the device, a zeroed output, and the kernel parameters over them (no workspace).
struct AttentionDeviceInputs {
  AttentionDeviceInputs(const AttentionCase& c, const AttentionInputs& in, float scale);

  DeviceArray<uint16_t> q;
  DeviceArray<uint16_t> k_cache;
  DeviceArray<uint16_t> v_cache;
  DeviceArray<int> block_tables;
  DeviceArray<int> token_seq;
  DeviceArray<int> positions;
  DeviceArray<uint16_t> out;
  kernels::PagedAttentionParams params;
};

// The kernel's output (bf16 bits) against the reference: every element written, the relative
// error within about twice the same-precision reference's, and no element off by more than 1% of
// the largest exact value (bf16 rounding alone is at most 2^-9 relative; this catches a single
// wrong head or token).
void CheckAttentionOutput(const AttentionReference& ref, const std::vector<uint16_t>& out);

// Parameters both attention launchers accept but for no pointers (8 query / 2 KV heads, head
// dim 128, one token), and the refusals they share: head dim 96, heads that do not split into
// the KV heads, no KV heads, block size 0, each cudaErrorInvalidValue; an empty batch a no-op.
using AttentionLauncher = cudaError_t (*)(const kernels::PagedAttentionParams&, cudaStream_t);
kernels::PagedAttentionParams ShapeOnlyAttentionParams();
void CheckSharedAttentionRefusals(AttentionLauncher launch);

}  // namespace specd::testing
