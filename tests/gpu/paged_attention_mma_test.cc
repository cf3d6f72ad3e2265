// Tensor-core paged attention (kernels/paged_attention_mma.h) against an fp64 reference computed
// from the same bf16 inputs: prompt chunks from position 0, continuing chunks (start > 0), odd
// lengths (1, 17, 130 tokens), several sequences per batch (row tiles that straddle sequences),
// head dims 64 and 128, GQA 1, 4 and 8, sliding windows 7 and 40, block sizes 16 and 3, shuffled
// block tables, random garbage in every cache slot a sequence must not see, and a q row stride
// wider than the query heads (fused QKV layout). Tokens of a sequence are consecutive in the batch
// except in the shuffled case (any order must be correct, only slower). Every tile-shape variant
// runs on every case; the output is poisoned (NaN) before each run. The kernel's error must stay
// within about twice that of a plain fp32 implementation rounded to bf16.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <cuda_runtime.h>

#include "engine/model/dtype.h"
#include "kernels/paged_attention_mma.h"

namespace specd {
namespace {

#define CUDA_REQUIRE(call) REQUIRE((call) == cudaSuccess)

struct CudaFree {
  void operator()(void* pointer) const { cudaFree(pointer); }
};
template <typename T>
using DevicePtr = std::unique_ptr<T, CudaFree>;

template <typename T>
DevicePtr<T> ToDevice(const std::vector<T>& host) {
  T* device = nullptr;
  REQUIRE(cudaMalloc(&device, host.size() * sizeof(T)) == cudaSuccess);
  DevicePtr<T> owned(device);
  REQUIRE(cudaMemcpy(device, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice) == cudaSuccess);
  return owned;
}

template <typename T>
std::vector<T> ToHost(const T* device, size_t count) {
  std::vector<T> host(count);
  REQUIRE(cudaMemcpy(host.data(), device, count * sizeof(T), cudaMemcpyDeviceToHost) == cudaSuccess);
  return host;
}

std::vector<uint16_t> RandomBF16(size_t count, std::mt19937& rng, float mean, float stddev) {
  std::normal_distribution<float> normal(mean, stddev);
  std::vector<uint16_t> values(count);
  for (auto& value : values) value = FloatToBF16(normal(rng));
  return values;
}

// One sequence of the batch: query tokens at positions [start, start + num_queries); the cache
// holds its keys and values at positions [0, start + num_queries).
struct Chunk {
  int start;
  int num_queries;
};

struct Case {
  std::string name;
  int head_dim;
  int num_heads;
  int num_kv_heads;
  int block_size;
  int sliding_window;
  std::vector<Chunk> chunks;
  bool shuffled = false;  // query tokens in random batch order
};

// Odd lengths from 0, a continuation (37 cached, 100 more), single tokens; 266 tokens, so the
// 128-row tiles straddle sequences.
const std::vector<Chunk> kMixedBatch = {{0, 1}, {0, 17}, {0, 130}, {37, 100}, {300, 1}, {200, 17}};

const std::vector<Case>& Cases() {
  static const std::vector<Case> cases = {
      {"one prompt of 130 from 0, MHA, head dim 128, block size 16", 128, 4, 4, 16, 0, {{0, 130}}},
      {"continuation: 37 cached, 100 more, GQA 4, head dim 128, block size 16", 128, 16, 4, 16, 0, {{37, 100}}},
      {"mixed batch, MHA, head dim 128, block size 16", 128, 4, 4, 16, 0, kMixedBatch},
      {"mixed batch, GQA 4, head dim 64, block size 16", 64, 16, 4, 16, 0, kMixedBatch},
      {"mixed batch, GQA 8, head dim 64, block size 3", 64, 16, 2, 3, 0, kMixedBatch},
      {"mixed batch, GQA 8, head dim 128, block size 3", 128, 8, 1, 3, 0, kMixedBatch},
      {"sliding window 7, GQA 4, head dim 128, block size 16", 128, 8, 2, 16, 7, kMixedBatch},
      {"sliding window 40, GQA 8, head dim 64, block size 3", 64, 8, 1, 3, 40, kMixedBatch},
      {"sliding window 40, long continuation, MHA, head dim 128, block size 16", 128, 2, 2, 16, 40, {{500, 200}}},
      {"long chunks: 300 after 400 cached, 260 from 0, GQA 4, head dim 128, block size 16", 128, 8, 2, 16, 0,
       {{400, 300}, {0, 260}}},
      {"decode- and verify-shaped tokens, GQA 4, head dim 128, block size 16", 128, 8, 2, 16, 0,
       {{1030, 1}, {299, 1}, {45, 19}, {123, 5}}},
      {"shuffled token order, MHA, head dim 64, block size 16", 64, 2, 2, 16, 0, {{0, 50}, {20, 70}, {0, 1}}, true},
  };
  return cases;
}

// Host copies of everything the kernel reads.
struct Inputs {
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

Inputs MakeInputs(const Case& c, std::mt19937& rng) {
  Inputs in;
  const int num_seqs = static_cast<int>(c.chunks.size());
  std::vector<int> blocks_needed;
  int total_blocks = 0;
  for (const Chunk& chunk : c.chunks) {
    const int context = chunk.start + chunk.num_queries;
    blocks_needed.push_back((context + c.block_size - 1) / c.block_size);
    total_blocks += blocks_needed.back();
    in.max_blocks_per_seq = std::max(in.max_blocks_per_seq, blocks_needed.back());
  }
  in.max_blocks_per_seq += 2;  // unused columns, filled with real (wrong) block ids
  in.num_blocks = 2 * total_blocks + 5;

  // Physical blocks: a shuffled pool, larger than needed; the unused ones stay garbage.
  std::vector<int> pool(static_cast<size_t>(in.num_blocks));
  for (int b = 0; b < in.num_blocks; ++b) pool[static_cast<size_t>(b)] = b;
  std::shuffle(pool.begin(), pool.end(), rng);
  std::uniform_int_distribution<int> any_block(0, in.num_blocks - 1);
  in.block_tables.assign(static_cast<size_t>(num_seqs) * in.max_blocks_per_seq, 0);
  size_t next = 0;
  for (int s = 0; s < num_seqs; ++s) {
    for (int i = 0; i < in.max_blocks_per_seq; ++i) {
      in.block_tables[static_cast<size_t>(s) * in.max_blocks_per_seq + i] =
          i < blocks_needed[static_cast<size_t>(s)] ? pool[next++] : any_block(rng);
    }
  }

  // Garbage everywhere (shifted, wide: a wrong slot read moves the result far), then the
  // sequences' own keys and values.
  const size_t row = static_cast<size_t>(c.num_kv_heads) * c.head_dim;
  const size_t cache_elements = static_cast<size_t>(in.num_blocks) * c.block_size * row;
  in.k_cache = RandomBF16(cache_elements, rng, 3.0f, 4.0f);
  in.v_cache = RandomBF16(cache_elements, rng, -3.0f, 4.0f);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int s = 0; s < num_seqs; ++s) {
    const Chunk& chunk = c.chunks[static_cast<size_t>(s)];
    for (int p = 0; p < chunk.start + chunk.num_queries; ++p) {
      const int block = in.block_tables[static_cast<size_t>(s) * in.max_blocks_per_seq + p / c.block_size];
      const size_t slot = static_cast<size_t>(block) * c.block_size + static_cast<size_t>(p % c.block_size);
      for (size_t e = 0; e < row; ++e) {
        in.k_cache[slot * row + e] = FloatToBF16(normal(rng));
        in.v_cache[slot * row + e] = FloatToBF16(normal(rng));
      }
    }
  }

  // Query tokens sequence by sequence with increasing positions (as the runner lays them out),
  // or shuffled; q rows laid out like the fused QKV projection (q heads, then k and v, which the
  // kernel must skip), so q_stride > num_heads * head_dim.
  std::vector<std::pair<int, int>> tokens;  // (seq, position)
  for (int s = 0; s < num_seqs; ++s) {
    const Chunk& chunk = c.chunks[static_cast<size_t>(s)];
    for (int p = chunk.start; p < chunk.start + chunk.num_queries; ++p) tokens.emplace_back(s, p);
  }
  if (c.shuffled) std::shuffle(tokens.begin(), tokens.end(), rng);
  for (const auto& [seq, position] : tokens) {
    in.token_seq.push_back(seq);
    in.positions.push_back(position);
  }
  in.q_stride = (c.num_heads + 2 * c.num_kv_heads) * c.head_dim;
  in.q = RandomBF16(tokens.size() * static_cast<size_t>(in.q_stride), rng, 0.0f, 1.5f);
  return in;
}

struct Reference {
  std::vector<double> exact;          // fp64 from the bf16 inputs
  std::vector<float> same_precision;  // fp32, plain (two-pass) softmax, output rounded to bf16
};

// Straight from the contract in paged_attention.h.
Reference ComputeReference(const Case& c, const Inputs& in, float scale) {
  const int num_tokens = static_cast<int>(in.positions.size());
  const int group = c.num_heads / c.num_kv_heads;
  const size_t out_elements = static_cast<size_t>(num_tokens) * c.num_heads * c.head_dim;
  Reference ref{std::vector<double>(out_elements), std::vector<float>(out_elements)};
  const auto to_float = [](const std::vector<uint16_t>& bits) {
    std::vector<float> values(bits.size());
    for (size_t i = 0; i < bits.size(); ++i) values[i] = BF16ToFloat(bits[i]);
    return values;
  };
  const std::vector<float> q = to_float(in.q), k_cache = to_float(in.k_cache), v_cache = to_float(in.v_cache);
  std::vector<size_t> slots;
  std::vector<double> scores, sum;
  std::vector<float> scores_f, sum_f;
  for (int t = 0; t < num_tokens; ++t) {
    const int seq = in.token_seq[static_cast<size_t>(t)];
    const int pos = in.positions[static_cast<size_t>(t)];
    const int first = c.sliding_window > 0 ? std::max(0, pos - c.sliding_window + 1) : 0;
    slots.clear();
    for (int p = first; p <= pos; ++p) {
      const int block = in.block_tables[static_cast<size_t>(seq) * in.max_blocks_per_seq + p / c.block_size];
      slots.push_back(static_cast<size_t>(block) * c.block_size + static_cast<size_t>(p % c.block_size));
    }
    for (int h = 0; h < c.num_heads; ++h) {
      const int kv_head = h / group;
      const float* q_row = q.data() + static_cast<size_t>(t) * in.q_stride + static_cast<size_t>(h) * c.head_dim;
      const auto kv_base = [&](size_t slot) {
        return (slot * c.num_kv_heads + static_cast<size_t>(kv_head)) * c.head_dim;
      };
      scores.clear();
      scores_f.clear();
      for (size_t slot : slots) {
        const float* k_row = k_cache.data() + kv_base(slot);
        double dot = 0.0;
        float dot_f = 0.0f;
        for (int d = 0; d < c.head_dim; ++d) {
          dot += static_cast<double>(q_row[d]) * k_row[d];
          dot_f += q_row[d] * k_row[d];
        }
        scores.push_back(dot * scale);
        scores_f.push_back(dot_f * scale);
      }
      const double max_score = *std::max_element(scores.begin(), scores.end());
      const float max_score_f = *std::max_element(scores_f.begin(), scores_f.end());
      double total = 0.0;
      float total_f = 0.0f;
      for (size_t j = 0; j < slots.size(); ++j) {
        scores[j] = std::exp(scores[j] - max_score);
        scores_f[j] = std::exp(scores_f[j] - max_score_f);
        total += scores[j];
        total_f += scores_f[j];
      }
      sum.assign(static_cast<size_t>(c.head_dim), 0.0);
      sum_f.assign(static_cast<size_t>(c.head_dim), 0.0f);
      for (size_t j = 0; j < slots.size(); ++j) {
        const float* v_row = v_cache.data() + kv_base(slots[j]);
        for (int d = 0; d < c.head_dim; ++d) {
          sum[static_cast<size_t>(d)] += scores[j] * v_row[d];
          sum_f[static_cast<size_t>(d)] += scores_f[j] * v_row[d];
        }
      }
      const size_t out_base = (static_cast<size_t>(t) * c.num_heads + static_cast<size_t>(h)) * c.head_dim;
      for (int d = 0; d < c.head_dim; ++d) {
        ref.exact[out_base + static_cast<size_t>(d)] = sum[static_cast<size_t>(d)] / total;
        ref.same_precision[out_base + static_cast<size_t>(d)] =
            BF16ToFloat(FloatToBF16(sum_f[static_cast<size_t>(d)] / total_f));
      }
    }
  }
  return ref;
}

double RelativeError(const std::vector<double>& exact, const std::vector<float>& got) {
  double diff = 0.0, norm = 0.0;
  for (size_t i = 0; i < exact.size(); ++i) {
    diff += (got[i] - exact[i]) * (got[i] - exact[i]);
    norm += exact[i] * exact[i];
  }
  return std::sqrt(diff / norm);
}

}  // namespace

TEST_CASE("paged attention mma matches an fp64 reference", "[gpu]") {
  const size_t index = GENERATE(range(size_t{0}, Cases().size()));
  const Case& c = Cases()[index];
  CAPTURE(c.name);
  std::mt19937 rng(static_cast<unsigned>(2000 + index));
  const Inputs in = MakeInputs(c, rng);
  const int num_tokens = static_cast<int>(in.positions.size());
  const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  const Reference ref = ComputeReference(c, in, scale);

  const auto d_q = ToDevice(in.q);
  const auto d_k_cache = ToDevice(in.k_cache);
  const auto d_v_cache = ToDevice(in.v_cache);
  const auto d_block_tables = ToDevice(in.block_tables);
  const auto d_token_seq = ToDevice(in.token_seq);
  const auto d_positions = ToDevice(in.positions);
  const size_t out_elements = ref.exact.size();
  const auto d_out = ToDevice(std::vector<uint16_t>(out_elements));

  kernels::PagedAttentionParams params;
  params.q = reinterpret_cast<const __nv_bfloat16*>(d_q.get());
  params.q_stride = in.q_stride;
  params.k_cache = reinterpret_cast<const __nv_bfloat16*>(d_k_cache.get());
  params.v_cache = reinterpret_cast<const __nv_bfloat16*>(d_v_cache.get());
  params.block_tables = d_block_tables.get();
  params.max_blocks_per_seq = in.max_blocks_per_seq;
  params.token_seq = d_token_seq.get();
  params.positions = d_positions.get();
  params.out = reinterpret_cast<__nv_bfloat16*>(d_out.get());
  params.num_tokens = num_tokens;
  params.num_heads = c.num_heads;
  params.num_kv_heads = c.num_kv_heads;
  params.head_dim = c.head_dim;
  params.block_size = c.block_size;
  params.scale = scale;
  params.sliding_window = c.sliding_window;
  const double reference_error = RelativeError(ref.exact, ref.same_precision);

  for (int variant = -1; variant < kernels::PagedAttentionMmaNumVariants(); ++variant) {
    CAPTURE(variant, variant < 0 ? "LaunchPagedAttentionMma" : kernels::PagedAttentionMmaVariantName(variant));
    CUDA_REQUIRE(cudaMemset(d_out.get(), 0xFF, out_elements * sizeof(uint16_t)));  // poison: NaN
    CUDA_REQUIRE(variant < 0 ? kernels::LaunchPagedAttentionMma(params, nullptr)
                             : kernels::LaunchPagedAttentionMmaVariant(params, variant, nullptr));
    CUDA_REQUIRE(cudaDeviceSynchronize());

    std::vector<float> got;
    for (uint16_t bits : ToHost(d_out.get(), out_elements)) got.push_back(BF16ToFloat(bits));
    size_t non_finite = 0;
    for (float value : got) non_finite += std::isfinite(value) ? 0 : 1;
    REQUIRE(non_finite == 0);  // every element written
    double max_ref = 0.0, max_error = 0.0;
    for (size_t i = 0; i < got.size(); ++i) {
      max_ref = std::max(max_ref, std::abs(ref.exact[i]));
      max_error = std::max(max_error, std::abs(got[i] - ref.exact[i]));
    }
    const double kernel_error = RelativeError(ref.exact, got);
    CAPTURE(num_tokens, kernel_error, reference_error, max_error, max_ref);
    CHECK(kernel_error <= 2.0 * reference_error + 1e-6);
    // bf16 rounding alone is at most 2^-9 relative; this catches a single wrong head or token.
    CHECK(max_error <= 1e-2 * max_ref);
  }
}

TEST_CASE("paged attention mma refuses unsupported shapes", "[gpu]") {
  kernels::PagedAttentionParams params;
  params.q_stride = 8 * 128;
  params.max_blocks_per_seq = 4;
  params.num_tokens = 1;
  params.num_heads = 8;
  params.num_kv_heads = 2;
  params.head_dim = 96;
  params.block_size = 16;
  params.scale = 0.1f;
  CHECK(kernels::LaunchPagedAttentionMma(params, nullptr) == cudaErrorInvalidValue);
  params.head_dim = 128;
  params.num_kv_heads = 3;  // 8 query heads do not split into 3 groups
  CHECK(kernels::LaunchPagedAttentionMma(params, nullptr) == cudaErrorInvalidValue);
  params.num_kv_heads = 0;
  CHECK(kernels::LaunchPagedAttentionMma(params, nullptr) == cudaErrorInvalidValue);
  params.num_kv_heads = 2;
  params.block_size = 0;
  CHECK(kernels::LaunchPagedAttentionMma(params, nullptr) == cudaErrorInvalidValue);
  params.block_size = 16;
  params.q_stride = 8 * 128 + 4;  // rows not 16-byte aligned
  CHECK(kernels::LaunchPagedAttentionMma(params, nullptr) == cudaErrorInvalidValue);
  params.q_stride = 4 * 128;  // narrower than the query heads
  CHECK(kernels::LaunchPagedAttentionMma(params, nullptr) == cudaErrorInvalidValue);
  params.q_stride = 8 * 128;
  CHECK(kernels::LaunchPagedAttentionMmaVariant(params, kernels::PagedAttentionMmaNumVariants(), nullptr) ==
        cudaErrorInvalidValue);
  params.num_tokens = 0;  // an empty batch is a no-op, whatever the pointers
  CHECK(kernels::LaunchPagedAttentionMma(params, nullptr) == cudaSuccess);
  CHECK(cudaGetLastError() == cudaSuccess);
}

}  // namespace specd
