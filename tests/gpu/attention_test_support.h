// The device half of the paged attention tests (paged_attention_test.cc for the split-KV kernel,
// paged_attention_mma_test.cc for the tensor-core one, attention_modifier_gpu_test.cc for the
// modifiers in both): the inputs of tests/attention_reference.h on the device, the kernel
// parameters over them, and the check of the kernel's output against the fp64 reference.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/paged_attention.h"
#include "tests/attention_reference.h"
#include "tests/gpu/device_array.h"

namespace specd::testing {

// The inputs on the device, a zeroed output, and the kernel parameters over them (the case's
// modifier; no workspace).
struct AttentionDeviceInputs {
  AttentionDeviceInputs(const AttentionCase& c, const AttentionInputs& in, float scale);

  DeviceArray<uint16_t> q;
  DeviceArray<uint16_t> k_cache;
  DeviceArray<uint16_t> v_cache;
  DeviceArray<int> block_tables;
  DeviceArray<int> token_seq;
  DeviceArray<int> positions;
  DeviceArray<int> seq_lens;
  DeviceArray<int> document_starts;
  DeviceArray<uint16_t> out;
  kernels::PagedAttentionParams params;
};

// The kernel's output (bf16 bits) against the reference: every element written, the relative
// error within about twice the same-precision reference's, and no element off by more than 1% of
// the largest exact value (bf16 rounding alone is at most 2^-9 relative; this catches a single
// wrong head or token).
void CheckAttentionOutput(const AttentionReference& ref, const std::vector<uint16_t>& out);

// LaunchPagedAttention on the case three ways: with a full split-KV workspace
// (PagedAttentionWorkspaceBytes), with one a fifth that size (fewer splits) and with none (no
// split), the output and the workspace poisoned (NaN) before each run, each output checked against
// the fp64 reference (CheckAttentionOutput). must_split: the full workspace must be written.
void CheckPagedAttentionModes(const AttentionCase& c, const AttentionInputs& in, bool must_split);

// LaunchPagedAttentionMma and every tile-shape variant on the case, the output poisoned before
// each run, each output checked against the fp64 reference.
void CheckPagedAttentionMmaVariants(const AttentionCase& c, const AttentionInputs& in);

// Parameters both attention launchers accept but for no pointers (8 query / 2 KV heads, head
// dim 128, one token), and the refusals they share: head dim 96, heads that do not split into
// the KV heads, no KV heads, block size 0, a sliding window of 0, soft-capping without a cap, an
// unknown modifier kind, each cudaErrorInvalidValue; an empty batch a no-op.
using AttentionLauncher = cudaError_t (*)(const kernels::PagedAttentionParams&, cudaStream_t);
kernels::PagedAttentionParams ShapeOnlyAttentionParams();
void CheckSharedAttentionRefusals(AttentionLauncher launch);

}  // namespace specd::testing
