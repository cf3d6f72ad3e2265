// Products with few rows (decode, speculative verify): y[r, o] = sum_i x[r, i] * w[o, i] for
// r < rows <= kSkinnyGemmMaxRows. Memory-bound: every weight is read once and used for all rows,
// with 16-byte loads and several in flight per lane; bf16 in, fp32 accumulation, bf16 or fp32
// out. One row: CUDA cores; 2..8 rows with `in` a multiple of 32: tensor cores (mma.m16n8k16),
// where CUDA cores would run out of FMA throughput. cuBLASLt's kernels for one row reach ~70% of
// the copy bandwidth on an H100; these aim at ~90%.
//
// Fusions for the CUDA runner's decode layers, so that a layer is four products and the
// attention kernels, not ten kernels (each kernel boundary costs a few microseconds of an idle
// GPU at batch 1). Each rounds as the separate kernels do, so the results are the same bits:
//   norm_weight   the product takes rmsnorm(x) * norm_weight (kernels/rms_norm.h) instead of x:
//                 x is the residual stream;
//   kAddToOutput  y = bf16(y + bf16(sum)): the residual add of o_proj and down_proj;
//   kSiluMul      w is gate rows then up rows (out = 2n) and y[r, j] = bf16(silu(bf16(gate_j)) *
//                 bf16(up_j)), y: [rows, n] (kernels/elementwise.h LaunchSiluMul);
//   kRopeCacheWrite  one row only: y is a token's qkv row, and the product leaves in y, k_cache
//                 and v_cache what LaunchRopeCacheWrite (kernels/elementwise.h) leaves after it:
//                 `rope` as that launch takes it, except rope.qkv and rope.num_tokens (y_bf16 and
//                 rows are taken instead); out = (num_heads + 2 * num_kv_heads) * head_dim.
#pragma once

#include <cstddef>

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "kernels/elementwise.h"

namespace specd::kernels {

inline constexpr int kSkinnyGemmMaxRows = 8;
// The one-row kernel reads x from shared memory (copied, or normalized) when rows * in * 2 bytes
// are at most this; the fused norm needs it.
inline constexpr size_t kSkinnyGemmMaxStagedBytes = 128 * 1024;

enum class SkinnyEpilogue { kStore, kAddToOutput, kSiluMul, kRopeCacheWrite };

struct SkinnyGemmParams {
  const __nv_bfloat16* x = nullptr;  // [rows, in]
  const __nv_bfloat16* w = nullptr;  // [out, in] (Hugging Face Linear layout)
  __nv_bfloat16* y_bf16 = nullptr;   // [rows, out] ([rows, out / 2] for kSiluMul), or
  float* y_f32 = nullptr;            // [rows, out]: exactly one of the two
  int rows = 0;                      // 1 .. kSkinnyGemmMaxRows
  int in = 0;                        // a positive multiple of 8; x and w 16-byte aligned
  int out = 0;                       // even for kSiluMul
  // Fusions (bf16 output only):
  const __nv_bfloat16* norm_weight = nullptr;  // [in], or null: no norm
  float norm_eps = 1e-6f;
  SkinnyEpilogue epilogue = SkinnyEpilogue::kStore;
  RopeCacheWriteParams rope = {};  // kRopeCacheWrite only
  // The next kernel on the stream is another product that streams its own weights (o_proj before
  // gate/up, down_proj before the next layer's qkv): a one-row product of one wave that leaves SM
  // slots free lets it launch at once, to load its first weights in those slots; a product that
  // would be just over that takes two features a warp to be one (skinny_gemm.cu, EarlyDependents,
  // TwoFeaturesAWarp).
  bool feeds_product = false;
};

// True when the kernel takes these shapes, pointers and fusions (otherwise use a general GEMM and
// separate kernels).
bool SkinnyGemmSupports(const SkinnyGemmParams& params);

// cudaErrorInvalidValue for what SkinnyGemmSupports refuses.
cudaError_t LaunchSkinnyGemm(const SkinnyGemmParams& params, cudaStream_t stream);

}  // namespace specd::kernels
