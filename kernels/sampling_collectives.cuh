// Sampling kernel internals, part 2 of 7 (included by sampling.cu and greedy_sampling.cu): warp and
// block collectives (shuffles, reductions, scans in a fixed order: deterministic) and the block's
// bitonic sort.
#pragma once

#include "kernels/sampling_math.cuh"

namespace specd::kernels {
namespace {

__device__ __forceinline__ float ShflXor(float v, int o) { return __shfl_xor_sync(kFullMask, v, o); }
__device__ __forceinline__ int ShflXor(int v, int o) { return __shfl_xor_sync(kFullMask, v, o); }
__device__ __forceinline__ double ShflXor(double v, int o) {
  return __shfl_xor_sync(kFullMask, v, o);
}
__device__ __forceinline__ u64 ShflXor(u64 v, int o) { return __shfl_xor_sync(kFullMask, v, o); }
__device__ __forceinline__ U128 ShflXor(U128 v, int o) {
  const u64 lo = __shfl_xor_sync(kFullMask, static_cast<u64>(v), o);
  const u64 hi = __shfl_xor_sync(kFullMask, static_cast<u64>(v >> 64), o);
  return (static_cast<U128>(hi) << 64) | lo;
}
__device__ __forceinline__ int ShflUp(int v, int d) { return __shfl_up_sync(kFullMask, v, d); }
__device__ __forceinline__ double ShflUp(double v, int d) { return __shfl_up_sync(kFullMask, v, d); }
__device__ __forceinline__ U128 ShflUp(U128 v, int d) {
  const u64 lo = __shfl_up_sync(kFullMask, static_cast<u64>(v), d);
  const u64 hi = __shfl_up_sync(kFullMask, static_cast<u64>(v >> 64), d);
  return (static_cast<U128>(hi) << 64) | lo;
}

struct ArgMax {
  float value;
  int index;
};
__device__ __forceinline__ ArgMax ShflXor(ArgMax v, int o) {
  return {ShflXor(v.value, o), ShflXor(v.index, o)};
}
__device__ __forceinline__ ArgMax BetterArgMax(ArgMax a, ArgMax b) {
  return (a.value > b.value || (a.value == b.value && a.index < b.index)) ? a : b;
}

template <typename T>
__device__ __forceinline__ T WarpSum(T v) {
  for (int o = kWarpSize / 2; o > 0; o /= 2) v += ShflXor(v, o);
  return v;
}

// For a block of kBlockWarps warps; scratch: kBlockWarps values of T (the block's reduce buffer).
// Every thread gets the result.
template <int kBlockWarps = kWarps, typename T, typename Op>
__device__ T BlockReduce(T v, Op op, void* scratch_bytes) {
  T* scratch = static_cast<T*>(scratch_bytes);
  for (int o = kWarpSize / 2; o > 0; o /= 2) v = op(v, ShflXor(v, o));
  if (Lane() == 0) scratch[Warp()] = v;
  __syncthreads();
  T result = scratch[0];
  for (int w = 1; w < kBlockWarps; ++w) result = op(result, scratch[w]);
  __syncthreads();
  return result;
}

template <typename T>
__device__ __forceinline__ T WarpInclusiveScan(T v) {
  for (int d = 1; d < kWarpSize; d *= 2) {
    const T other = ShflUp(v, d);
    if (Lane() >= d) v += other;
  }
  return v;
}

// Exclusive prefix sum over the block (kBlockWarps warps) in thread order; *total: the sum (every
// thread).
template <int kBlockWarps = kWarps, typename T>
__device__ T BlockExclusiveScan(T v, T* total, void* scratch_bytes) {
  T* scratch = static_cast<T*>(scratch_bytes);
  const T inclusive = WarpInclusiveScan(v);
  if (Lane() == kWarpSize - 1) scratch[Warp()] = inclusive;
  __syncthreads();
  T base = 0;
  T sum = 0;
  for (int w = 0; w < kBlockWarps; ++w) {
    const T s = scratch[w];
    if (w < Warp()) base += s;
    sum += s;
  }
  __syncthreads();
  *total = sum;
  return base + inclusive - v;
}

// Ascending bitonic sort of keys[0, n), n <= kGatherCapacity.
__device__ void BitonicSort(u64* keys, int n) {
  int size = 1;
  while (size < n) size *= 2;
  for (int i = n + static_cast<int>(threadIdx.x); i < size; i += kThreads) keys[i] = ~0ull;
  __syncthreads();
  for (int k = 2; k <= size; k *= 2) {
    for (int j = k / 2; j > 0; j /= 2) {
      for (int i = threadIdx.x; i < size; i += kThreads) {
        const int partner = i ^ j;
        if (partner > i) {
          const u64 a = keys[i];
          const u64 b = keys[partner];
          const bool ascending = (i & k) == 0;
          if ((a > b) == ascending) {
            keys[i] = b;
            keys[partner] = a;
          }
        }
      }
      __syncthreads();
    }
  }
}

}  // namespace
}  // namespace specd::kernels
