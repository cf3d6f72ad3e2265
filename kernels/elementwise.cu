#include "kernels/elementwise.h"

#include "kernels/activation.cuh"
#include "kernels/pdl.cuh"
#include "kernels/rope_math.cuh"

#include <cstdint>
#include <initializer_list>

namespace specd::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int kVectorElements = 8;  // 8 bf16 = one 16-byte access
constexpr int kRopeHeadsPerBlock = 4;  // heads of one token per RoPE + cache-write block
constexpr int kMaxGridY = 65535;    // tokens per launch of the 2-D kernels (SiLU-and-mul)
constexpr int kMaxHeadDim = 1024;   // the RoPE kernel keeps one token's cos/sin in shared memory

// N bf16 values moved as one aligned access (N = 8: a 16-byte load or store, like float4).
template <int N>
struct alignas(N * sizeof(__nv_bfloat16)) BF16Vec {
  __nv_bfloat16 values[N];
};

template <int N>
__device__ BF16Vec<N> Load(const __nv_bfloat16* p) {
  return *reinterpret_cast<const BF16Vec<N>*>(p);
}

template <int N>
__device__ void Store(__nv_bfloat16* p, const BF16Vec<N>& v) {
  *reinterpret_cast<BF16Vec<N>*>(p) = v;
}

bool Aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// Rows of `width` elements can move 8 at a time when every row starts on a 16-byte boundary.
bool Vectorizable(int width, std::initializer_list<const void*> pointers) {
  if (width % kVectorElements != 0) return false;
  for (const void* p : pointers) {
    if (!Aligned16(p)) return false;
  }
  return true;
}

// ---- row copy (embedding, gather) -------------------------------------------------------------

// Where row r of a copy comes from: index[r], unless fed[r] >= 0 names a row of fed_values (an
// id the previous step sampled: clamped to [0, num_in_rows), 0 outside).
struct RowSource {
  const int* index = nullptr;       // [rows]
  const int* fed = nullptr;         // [rows] or null
  const int* fed_values = nullptr;  // [*]
  int num_in_rows = 0;

  __device__ int operator()(int r) const {
    if (fed == nullptr || fed[r] < 0) return index[r];
    const int value = fed_values[fed[r]];
    return value >= 0 && value < num_in_rows ? value : 0;
  }
};

// One block per output row: out[r, :] = in[source(r), :].
template <int N>
__global__ void __launch_bounds__(kThreads) CopyRowsKernel(const __nv_bfloat16* in,  // [*, width]
                                                          RowSource source,
                                                          __nv_bfloat16* out,       // [rows, width]
                                                          int width) {
  AllowDependentLaunch();
  WaitForPrerequisites();
  const __nv_bfloat16* src = in + static_cast<int64_t>(source(blockIdx.x)) * width;
  __nv_bfloat16* dst = out + static_cast<int64_t>(blockIdx.x) * width;
  for (int c = threadIdx.x * N; c < width; c += kThreads * N) Store<N>(dst + c, Load<N>(src + c));
}

cudaError_t LaunchCopyRows(const __nv_bfloat16* in, const RowSource& source, __nv_bfloat16* out, int rows, int width,
                           cudaStream_t stream) {
  if (Vectorizable(width, {in, out})) {
    return LaunchWithPdl(CopyRowsKernel<kVectorElements>, rows, kThreads, 0, stream, in, source, out, width);
  }
  return LaunchWithPdl(CopyRowsKernel<1>, rows, kThreads, 0, stream, in, source, out, width);
}

// ---- SiLU and multiply --------------------------------------------------------------------------

// Block (x, t) does elements [x * kThreads * N, (x + 1) * kThreads * N) of token t, one vector a
// thread, so a single decode token still spreads over several SMs:
// out[t, i] = silu(gate_up[t, i]) * gate_up[t, inter + i], rounded to bf16 once.
template <int N>
__global__ void __launch_bounds__(kThreads) SiluMulKernel(SiluMulParams p) {
  AllowDependentLaunch();
  WaitForPrerequisites();
  const int inter = p.intermediate;
  const __nv_bfloat16* gate = p.gate_up + static_cast<int64_t>(blockIdx.y) * 2 * inter;  // [inter]
  const __nv_bfloat16* up = gate + inter;                                                  // [inter]
  __nv_bfloat16* out = p.out + static_cast<int64_t>(blockIdx.y) * inter;                   // [inter]
  const int c = (blockIdx.x * kThreads + threadIdx.x) * N;
  if (c < inter) {
    const BF16Vec<N> g = Load<N>(gate + c);
    const BF16Vec<N> u = Load<N>(up + c);
    BF16Vec<N> o;
#pragma unroll
    for (int e = 0; e < N; ++e) {
      o.values[e] = __float2bfloat16(Silu(__bfloat162float(g.values[e])) * __bfloat162float(u.values[e]));
    }
    Store<N>(out + c, o);
  }
}

// ---- bias ---------------------------------------------------------------------------------------

// One block per token: x[t, :] += bias[:].
template <int N>
__global__ void __launch_bounds__(kThreads) AddBiasKernel(AddBiasParams p) {
  AllowDependentLaunch();
  WaitForPrerequisites();
  __nv_bfloat16* x = p.x + static_cast<int64_t>(blockIdx.x) * p.width;  // [width]
  for (int c = threadIdx.x * N; c < p.width; c += kThreads * N) {
    BF16Vec<N> v = Load<N>(x + c);
    const BF16Vec<N> b = Load<N>(p.bias + c);
#pragma unroll
    for (int e = 0; e < N; ++e) v.values[e] = AddRounded(v.values[e], b.values[e]);
    Store<N>(x + c, v);
  }
}

// ---- RoPE + cache write -------------------------------------------------------------------------

// One thread per table entry (position, frequency).
__global__ void __launch_bounds__(kThreads) RopeCosSinTableKernel(RopeCosSinTableParams p) {
  const int half = p.head_dim / 2;
  const int64_t entry = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
  if (entry >= static_cast<int64_t>(p.max_position) * half) return;
  const float position = static_cast<float>(entry / half);
  p.table[entry] = RopeCosSin(position, p.inv_freq[entry % half]);
}

// Block (t, y) does heads [4y, 4y + 4) of token t's qkv row [q heads | k heads | v heads], each
// head head_dim wide (several blocks a token, so one decode token spreads over several SMs), pair
// by pair (i with i + half: StoreRopePair). The k and v parts of qkv are left as they were.
__global__ void __launch_bounds__(kThreads) RopeCacheWriteKernel(RopeCacheWriteParams p) {
  AllowDependentLaunch();
  __shared__ float2 cos_sin[kMaxHeadDim / 2];  // [half]
  const int half = p.head_dim / 2;
  const int rotated_heads = p.num_heads + p.num_kv_heads;
  const int64_t row_width = static_cast<int64_t>(rotated_heads + p.num_kv_heads) * p.head_dim;
  __nv_bfloat16* row = p.qkv + static_cast<int64_t>(blockIdx.x) * row_width;  // [row_width]
  const int64_t slot = p.slots[blockIdx.x];
  const int first_head = static_cast<int>(blockIdx.y) * kRopeHeadsPerBlock;
  const int heads = min(kRopeHeadsPerBlock, rotated_heads + p.num_kv_heads - first_head);

  // The token's cos/sin (RopeCosSin, once per block and frequency, or read from the caller's
  // table), before waiting for the kernel that writes qkv, so the cost hides behind it.
  const int position = p.positions[blockIdx.x];
  for (int i = threadIdx.x; i < half; i += kThreads) cos_sin[i] = RopeCosSinAt(p, position, i);
  __syncthreads();
  // The tables come from the step's positions, uploaded before the step's first kernel; qkv and
  // the cache are the previous kernels' business.
  WaitForPrerequisites();

  for (int j = threadIdx.x; j < heads * half; j += kThreads) {
    const int head = first_head + j / half;
    const int i = j % half;
    const int col = head * p.head_dim + i;
    StoreRopePair(p, row, slot, head, i, row[col], row[col + half], cos_sin[i]);
  }
}

}  // namespace

cudaError_t LaunchEmbedding(const EmbeddingParams& params, cudaStream_t stream) {
  if (params.num_tokens < 0 || params.hidden <= 0) return cudaErrorInvalidValue;
  if (params.num_tokens == 0) return cudaSuccess;
  if (params.token_ids == nullptr || params.table == nullptr || params.out == nullptr ||
      (params.fed_rows != nullptr && (params.fed_tokens == nullptr || params.vocab <= 0))) {
    return cudaErrorInvalidValue;
  }
  const RowSource source{params.token_ids, params.fed_rows, params.fed_tokens, params.vocab};
  return LaunchCopyRows(params.table, source, params.out, params.num_tokens, params.hidden, stream);
}

cudaError_t LaunchRopeCacheWrite(const RopeCacheWriteParams& params, cudaStream_t stream) {
  const RopeCacheWriteParams& p = params;
  if (p.num_tokens < 0 || p.head_dim <= 0 || p.head_dim % 2 != 0 || p.head_dim > kMaxHeadDim ||
      p.num_heads <= 0 || p.num_kv_heads <= 0 || p.num_heads % p.num_kv_heads != 0) {
    return cudaErrorInvalidValue;
  }
  if (p.num_tokens == 0) return cudaSuccess;
  if (p.qkv == nullptr || p.positions == nullptr || p.slots == nullptr || (p.inv_freq == nullptr && p.cos_sin == nullptr) ||
      p.k_cache == nullptr || p.v_cache == nullptr) {
    return cudaErrorInvalidValue;
  }
  const int head_blocks = (p.num_heads + 2 * p.num_kv_heads + kRopeHeadsPerBlock - 1) / kRopeHeadsPerBlock;
  return LaunchWithPdl(RopeCacheWriteKernel, dim3(p.num_tokens, head_blocks), kThreads, 0, stream, p);
}

cudaError_t LaunchRopeCosSinTable(const RopeCosSinTableParams& params, cudaStream_t stream) {
  const RopeCosSinTableParams& p = params;
  if (p.head_dim <= 0 || p.head_dim % 2 != 0 || p.head_dim > kMaxHeadDim || p.max_position < 0) {
    return cudaErrorInvalidValue;
  }
  if (p.max_position == 0) return cudaSuccess;
  if (p.inv_freq == nullptr || p.table == nullptr) return cudaErrorInvalidValue;
  const int64_t entries = static_cast<int64_t>(p.max_position) * (p.head_dim / 2);
  const int64_t blocks = (entries + kThreads - 1) / kThreads;
  RopeCosSinTableKernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(p);
  return cudaGetLastError();
}

cudaError_t LaunchSiluMul(const SiluMulParams& params, cudaStream_t stream) {
  if (params.num_tokens < 0 || params.intermediate <= 0) return cudaErrorInvalidValue;
  if (params.num_tokens == 0) return cudaSuccess;
  if (params.gate_up == nullptr || params.out == nullptr) return cudaErrorInvalidValue;
  if (params.num_tokens > kMaxGridY) return cudaErrorInvalidValue;
  const int vector = Vectorizable(params.intermediate, {params.gate_up, params.out}) ? kVectorElements : 1;
  const dim3 grid((params.intermediate + kThreads * vector - 1) / (kThreads * vector), params.num_tokens);
  if (vector == kVectorElements) return LaunchWithPdl(SiluMulKernel<kVectorElements>, grid, kThreads, 0, stream, params);
  return LaunchWithPdl(SiluMulKernel<1>, grid, kThreads, 0, stream, params);
}

cudaError_t LaunchAddBias(const AddBiasParams& params, cudaStream_t stream) {
  if (params.num_tokens < 0 || params.width <= 0) return cudaErrorInvalidValue;
  if (params.num_tokens == 0) return cudaSuccess;
  if (params.x == nullptr || params.bias == nullptr) return cudaErrorInvalidValue;
  if (Vectorizable(params.width, {params.x, params.bias})) {
    return LaunchWithPdl(AddBiasKernel<kVectorElements>, params.num_tokens, kThreads, 0, stream, params);
  }
  return LaunchWithPdl(AddBiasKernel<1>, params.num_tokens, kThreads, 0, stream, params);
}

cudaError_t LaunchGatherRows(const GatherRowsParams& params, cudaStream_t stream) {
  if (params.num_rows < 0 || params.width <= 0) return cudaErrorInvalidValue;
  if (params.num_rows == 0) return cudaSuccess;
  if (params.in == nullptr || params.rows == nullptr || params.out == nullptr) return cudaErrorInvalidValue;
  return LaunchCopyRows(params.in, RowSource{.index = params.rows}, params.out, params.num_rows, params.width, stream);
}

}  // namespace specd::kernels
