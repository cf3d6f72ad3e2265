#include "tests/gpu/attention_test_support.h"

#include <algorithm>
#include <cmath>

#include <catch2/catch.hpp>

#include "kernels/paged_attention_mma.h"
#include "tests/gpu/gpu_test_support.h"

namespace specd::testing {

AttentionDeviceInputs::AttentionDeviceInputs(const AttentionCase& c, const AttentionInputs& in, float scale)
    : q(in.q),
      k_cache(in.k_cache),
      v_cache(in.v_cache),
      block_tables(in.block_tables),
      token_seq(in.token_seq),
      positions(in.positions),
      seq_lens(in.seq_lens),
      document_starts(in.document_starts),
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
  params.modifier = MakeModifier(c, in, seq_lens.get(), document_starts.get());
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

void CheckPagedAttentionModes(const AttentionCase& c, const AttentionInputs& in, bool must_split) {
  const int num_tokens = static_cast<int>(in.positions.size());
  const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  const auto ref = ComputeAttentionReference(c, in, scale);
  AttentionDeviceInputs device(c, in, scale);
  kernels::PagedAttentionParams& params = device.params;

  const size_t full_workspace = kernels::PagedAttentionWorkspaceBytes(num_tokens, c.num_heads, c.head_dim,
                                                                      in.max_blocks_per_seq * c.block_size);
  if (must_split) REQUIRE(full_workspace > 0);
  const DeviceArray<uint8_t> d_workspace(std::vector<uint8_t>(std::max<size_t>(full_workspace, 16)));
  struct Mode {
    const char* name;
    size_t workspace_bytes;
  };
  const Mode modes[] = {{"full workspace", full_workspace},
                        {"a fifth of the workspace", full_workspace / 5 / 16 * 16},
                        {"no workspace", 0}};
  for (const Mode& mode : modes) {
    CAPTURE(mode.name, mode.workspace_bytes);
    CUDA_REQUIRE(cudaMemset(device.out.get(), 0xFF, device.out.Bytes()));  // poison: NaN
    CUDA_REQUIRE(cudaMemset(d_workspace.get(), 0xFF, d_workspace.Bytes()));
    params.workspace = mode.workspace_bytes > 0 ? d_workspace.get() : nullptr;
    params.workspace_bytes = mode.workspace_bytes;
    CUDA_REQUIRE(kernels::LaunchPagedAttention(params, nullptr));
    CUDA_REQUIRE(cudaDeviceSynchronize());

    if (must_split && mode.workspace_bytes == full_workspace) {
      const std::vector<uint8_t> workspace = ToHost(d_workspace.get(), full_workspace);
      CHECK(std::any_of(workspace.begin(), workspace.end(), [](uint8_t byte) { return byte != 0xFF; }));
    }
    CAPTURE(num_tokens);
    CheckAttentionOutput(ref, device.out.ToHost());
  }
}

void CheckPagedAttentionMmaVariants(const AttentionCase& c, const AttentionInputs& in) {
  const int num_tokens = static_cast<int>(in.positions.size());
  const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  const auto ref = ComputeAttentionReference(c, in, scale);
  const AttentionDeviceInputs device(c, in, scale);

  for (int variant = -1; variant < kernels::PagedAttentionMmaNumVariants(); ++variant) {
    CAPTURE(variant, variant < 0 ? "LaunchPagedAttentionMma" : kernels::PagedAttentionMmaVariantName(variant));
    CUDA_REQUIRE(cudaMemset(device.out.get(), 0xFF, device.out.Bytes()));  // poison: NaN
    CUDA_REQUIRE(variant < 0 ? kernels::LaunchPagedAttentionMma(device.params, nullptr)
                             : kernels::LaunchPagedAttentionMmaVariant(device.params, variant, nullptr));
    CUDA_REQUIRE(cudaDeviceSynchronize());
    CAPTURE(num_tokens);
    CheckAttentionOutput(ref, device.out.ToHost());
  }
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
  params.modifier.kind = kernels::AttentionModifierKind::kSlidingWindow;  // without a window
  CHECK(launch(params, nullptr) == cudaErrorInvalidValue);
  params.modifier.kind = kernels::AttentionModifierKind::kSoftCap;  // without a cap
  CHECK(launch(params, nullptr) == cudaErrorInvalidValue);
  params.modifier.kind = static_cast<kernels::AttentionModifierKind>(99);  // unknown
  CHECK(launch(params, nullptr) == cudaErrorInvalidValue);
  params.modifier = {};
  params.num_tokens = 0;  // an empty batch is a no-op, whatever the pointers
  CHECK(launch(params, nullptr) == cudaSuccess);
  CHECK(cudaGetLastError() == cudaSuccess);
}

}  // namespace specd::testing
