#include "bench/pairs/pair_kernels.h"

#include <algorithm>
#include <cstdint>
#include <initializer_list>

namespace specd::bench {
namespace {

constexpr int kThreads = 256;
constexpr int kChunkElements = 8;            // 8 bf16 = one 16-byte copy
constexpr int64_t kMaxWidenBlocks = 65536;   // grid-stride beyond this

// Grid (num_blocks, 2): block (b, 0) copies K block b, (b, 1) V block b, 16 bytes a thread a step.
__global__ void __launch_bounds__(kThreads) KvGatherKernel(KvGatherParams p) {
  const bool is_v = blockIdx.y == 1;
  const int64_t source_block = p.block_ids[blockIdx.x];
  const auto* source = reinterpret_cast<const uint4*>((is_v ? p.v_cache : p.k_cache) + source_block * p.block_elements);
  auto* destination = reinterpret_cast<uint4*>((is_v ? p.v_out : p.k_out) + blockIdx.x * p.block_elements);
  const int64_t chunks = p.block_elements / kChunkElements;
  for (int64_t c = threadIdx.x; c < chunks; c += kThreads) destination[c] = source[c];
}

__global__ void __launch_bounds__(kThreads) WidenBf16Kernel(WidenBf16Params p) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * kThreads;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x; i < p.count; i += stride) {
    p.out[i] = __bfloat162float(p.in[i]);
  }
}

bool Aligned16(const void* pointer) { return reinterpret_cast<uintptr_t>(pointer) % 16 == 0; }

}  // namespace

cudaError_t LaunchKvGather(const KvGatherParams& params, cudaStream_t stream) {
  const KvGatherParams& p = params;
  if (p.num_blocks < 0 || p.block_elements <= 0 || p.block_elements % kChunkElements != 0) return cudaErrorInvalidValue;
  if (p.num_blocks == 0) return cudaSuccess;
  for (const void* array : {static_cast<const void*>(p.k_cache), static_cast<const void*>(p.v_cache),
                            static_cast<const void*>(p.k_out), static_cast<const void*>(p.v_out)}) {
    if (array == nullptr || !Aligned16(array)) return cudaErrorInvalidValue;
  }
  if (p.block_ids == nullptr) return cudaErrorInvalidValue;
  KvGatherKernel<<<dim3(static_cast<unsigned>(p.num_blocks), 2), kThreads, 0, stream>>>(p);
  return cudaGetLastError();
}

cudaError_t LaunchWidenBf16(const WidenBf16Params& params, cudaStream_t stream) {
  if (params.count < 0) return cudaErrorInvalidValue;
  if (params.count == 0) return cudaSuccess;
  if (params.in == nullptr || params.out == nullptr) return cudaErrorInvalidValue;
  const int64_t blocks = std::min((params.count + kThreads - 1) / kThreads, kMaxWidenBlocks);
  WidenBf16Kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(params);
  return cudaGetLastError();
}

}  // namespace specd::bench
