// Tensor-core paged attention internals, part 1 of 5 (included by paged_attention_mma.cu only; see
// its file comment): tile constants, the per-CTA row metadata in shared memory, the swizzled
// shared-memory layouts, and the PTX wrappers both matrix paths use (cp.async, ldmatrix,
// mma.m16n8k16, exp2, bf16 packing).
#pragma once

#include <climits>
#include <cstdint>
#include <cuda_bf16.h>

namespace specd::kernels {
namespace {

constexpr int kWarpSize = 32;
constexpr int kWarpgroupThreads = 128;
constexpr int kWgmmaRows = 64;        // query rows per warpgroup
constexpr int kChunkElements = 8;     // bf16 per 16-byte chunk
constexpr int kChunkBytes = 16;
constexpr int kSmemAlign = 1024;      // the swizzle XORs address bits 4..6 with 7..9
constexpr int kMaxGridY = 65535;
constexpr int kMaxSmemBytes = 227 * 1024;  // dynamic shared memory a Hopper CTA may opt into
constexpr float kLog2E = 1.4426950408889634f;
constexpr unsigned kFullMask = 0xffffffffu;

// Run bounds in shared memory (RowState::run): the run's rows and the span of their key
// intervals (kMinFirst .. kMaxLast: a QuerySpan).
enum RunField { kRunEnd, kMinFirst, kMaxFirst, kMinLast, kMaxLast, kRunBegin, kRunFields };

// Per-CTA row metadata and key offsets, in static shared memory (kKeys: keys per KV tile).
template <int kRows, int kKeys>
struct RowState {
  int64_t offset[3][kKeys];  // byte offset in the cache of upcoming tiles' keys (this KV head), -1: zeros
  int pos[kRows];            // -1 past the batch
  int first[kRows];          // first visible key (the modifier's interval), INT_MAX past the batch
  int last[kRows];           // last visible key, -1 past the batch
  int seq[kRows];            // -1 past the batch
  int run[kRunFields];
};

// Swizzled layouts: byte offset of 16-byte chunk c of row r.
template <int kRowBytes>
struct RowMajorLayout {  // [row][kRowBytes]
  __device__ __forceinline__ static uint32_t Offset(int r, int c) {
    return static_cast<uint32_t>(r * kRowBytes + ((c ^ (r & 7)) * kChunkBytes));
  }
};
template <int kRows>
struct AtomLayout {  // [chunk / 8][row][8 chunks]: 128-byte lines
  static constexpr int kLine = 8 * kChunkBytes;
  __device__ __forceinline__ static uint32_t Offset(int r, int c) {
    return static_cast<uint32_t>((c / 8) * (kRows * kLine) + r * kLine + (((c % 8) ^ (r & 7)) * kChunkBytes));
  }
};

__device__ __forceinline__ uint32_t SharedAddress(const void* pointer) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(pointer));
}

// 16-byte async copy; !valid writes zeros and reads nothing (cp.async's ignore-src predicate: one
// predicated instruction, where a src-size operand costs a dozen).
__device__ __forceinline__ void CopyAsync16(uint32_t dst, const void* src, bool valid) {
  asm volatile(
      "{\n.reg .pred ignore;\nsetp.eq.u32 ignore, %2, 0;\ncp.async.cg.shared.global [%0], [%1], 16, ignore;\n}\n" ::"r"(dst),
      "l"(src), "r"(static_cast<uint32_t>(valid))
      : "memory");
}
__device__ __forceinline__ void CommitAsync() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int kPending>
__device__ __forceinline__ void WaitAsync() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending) : "memory");
}

__device__ __forceinline__ void LoadMatrixX4(uint32_t (&r)[4], uint32_t address) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address));
}
__device__ __forceinline__ void LoadMatrixX4Trans(uint32_t (&r)[4], uint32_t address) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address));
}

// d += a * b, m16n8k16, bf16 inputs, fp32 accumulators.
__device__ __forceinline__ void Mma(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// A value the compiler cannot see through, so that it does not hoist what is derived from it.
__device__ __forceinline__ uint32_t Opaque(uint32_t x) {
  asm volatile("mov.b32 %0, %0;\n" : "+r"(x));
  return x;
}

__device__ __forceinline__ float Exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

__device__ __forceinline__ uint32_t PackBF16(float lo, float hi) {
  const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);  // .x (low half) = lo
  return *reinterpret_cast<const uint32_t*>(&v);
}

}  // namespace
}  // namespace specd::kernels
