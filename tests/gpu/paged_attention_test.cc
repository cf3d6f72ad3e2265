// Paged attention against an fp64 reference computed from the same bf16 inputs, on batches that
// mix prompt chunks, a chunked-prefill continuation, long decodes and a verify-shaped query, with
// shuffled block tables and random garbage in every cache slot a sequence must not see. Each
// case runs three ways: with a full split-KV workspace (PagedAttentionWorkspaceBytes), with one a
// fifth that size (fewer splits) and with none (no split); the split cases (long decodes alone,
// long decodes beside a prompt chunk, a sliding window over a long range) must actually write
// the workspace. The output and the workspace are poisoned (NaN) before each run. The kernel's
// error must stay within about twice that of a plain fp32 implementation rounded to bf16.
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
#include "kernels/paged_attention.h"

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
  bool must_split = false;  // with the full workspace, some token's keys are split
};

// A prompt chunk from 0, a chunked-prefill continuation, decodes at 300 and 1031, a verify query.
const std::vector<Chunk> kMixedBatch = {{0, 37}, {45, 19}, {299, 1}, {1030, 1}, {123, 5}};

const std::vector<Case>& Cases() {
  static const std::vector<Case> cases = {
      {"MHA, head dim 128, block size 16", 128, 8, 8, 16, 0, kMixedBatch},
      {"GQA 4, head dim 128, block size 16", 128, 32, 8, 16, 0, kMixedBatch},
      {"GQA 8, head dim 64, block size 16", 64, 16, 2, 16, 0, kMixedBatch},
      {"MHA, head dim 64, block size 1", 64, 4, 4, 1, 0, kMixedBatch},
      {"GQA 8, head dim 128, block size 3", 128, 8, 1, 3, 0, kMixedBatch},
      {"GQA 12 (two thread blocks per KV head, one part idle), head dim 64", 64, 24, 2, 16, 0, kMixedBatch},
      {"GQA 16, head dim 128", 128, 16, 1, 16, 0, kMixedBatch},
      {"sliding window 7, GQA 4, head dim 128, block size 16", 128, 16, 4, 16, 7, kMixedBatch},
      {"sliding window 40, GQA 8, head dim 64, block size 3", 64, 8, 1, 3, 40, kMixedBatch},
      // Split-KV: few query tokens, long key ranges.
      {"split: one decode at 5000, GQA 4, head dim 128", 128, 32, 8, 16, 0, {{4999, 1}}, true},
      {"split: one decode at 20000, GQA 8, head dim 64", 64, 16, 2, 16, 0, {{19999, 1}}, true},
      {"split: long decodes, a prompt chunk and a verify query, GQA 4, head dim 128", 128, 32, 8, 16, 0,
       {{9000, 1}, {0, 40}, {3000, 12}, {2047, 1}, {6000, 4}, {300, 1}}, true},
      {"split: sliding window 1500 over long ranges, GQA 4, head dim 128", 128, 16, 4, 16, 1500,
       {{7000, 1}, {2500, 3}, {1000, 1}, {10, 20}}, true},
      {"split: GQA 12, head dim 64, block size 3", 64, 24, 2, 3, 0, {{3000, 1}, {100, 7}}, true},
      {"split: MHA, head dim 128, block size 1", 128, 4, 4, 1, 0, {{2500, 1}, {777, 2}}, true},
      {"split: GQA 16, head dim 128", 128, 16, 1, 16, 0, {{4100, 1}}, true},
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

  // Query tokens in a shuffled order; q rows laid out like the fused QKV projection (q heads,
  // then k and v, which the kernel must skip), so q_stride > num_heads * head_dim.
  std::vector<std::pair<int, int>> tokens;  // (seq, position)
  for (int s = 0; s < num_seqs; ++s) {
    const Chunk& chunk = c.chunks[static_cast<size_t>(s)];
    for (int p = chunk.start; p < chunk.start + chunk.num_queries; ++p) tokens.emplace_back(s, p);
  }
  std::shuffle(tokens.begin(), tokens.end(), rng);
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
  for (int t = 0; t < num_tokens; ++t) {
    const int seq = in.token_seq[static_cast<size_t>(t)];
    const int pos = in.positions[static_cast<size_t>(t)];
    const int first = c.sliding_window > 0 ? std::max(0, pos - c.sliding_window + 1) : 0;
    std::vector<size_t> slots;
    for (int p = first; p <= pos; ++p) {
      const int block = in.block_tables[static_cast<size_t>(seq) * in.max_blocks_per_seq + p / c.block_size];
      slots.push_back(static_cast<size_t>(block) * c.block_size + static_cast<size_t>(p % c.block_size));
    }
    for (int h = 0; h < c.num_heads; ++h) {
      const int kv_head = h / group;
      const size_t q_base = static_cast<size_t>(t) * in.q_stride + static_cast<size_t>(h) * c.head_dim;
      const auto kv_base = [&](size_t slot) {
        return (slot * c.num_kv_heads + static_cast<size_t>(kv_head)) * c.head_dim;
      };
      std::vector<double> scores;
      std::vector<float> scores_f;
      for (size_t slot : slots) {
        double dot = 0.0;
        float dot_f = 0.0f;
        for (int d = 0; d < c.head_dim; ++d) {
          const float q = BF16ToFloat(in.q[q_base + static_cast<size_t>(d)]);
          const float k = BF16ToFloat(in.k_cache[kv_base(slot) + static_cast<size_t>(d)]);
          dot += static_cast<double>(q) * k;
          dot_f += q * k;
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
      const size_t out_base = (static_cast<size_t>(t) * c.num_heads + static_cast<size_t>(h)) * c.head_dim;
      for (int d = 0; d < c.head_dim; ++d) {
        double sum = 0.0;
        float sum_f = 0.0f;
        for (size_t j = 0; j < slots.size(); ++j) {
          const float v = BF16ToFloat(in.v_cache[kv_base(slots[j]) + static_cast<size_t>(d)]);
          sum += scores[j] * v;
          sum_f += scores_f[j] * v;
        }
        ref.exact[out_base + static_cast<size_t>(d)] = sum / total;
        ref.same_precision[out_base + static_cast<size_t>(d)] = BF16ToFloat(FloatToBF16(sum_f / total_f));
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

TEST_CASE("paged attention matches an fp64 reference on mixed batches", "[gpu]") {
  const size_t index = GENERATE(range(size_t{0}, Cases().size()));
  const Case& c = Cases()[index];
  CAPTURE(c.name);
  std::mt19937 rng(static_cast<unsigned>(1000 + index));
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

  const size_t full_workspace = kernels::PagedAttentionWorkspaceBytes(num_tokens, c.num_heads, c.head_dim,
                                                                      in.max_blocks_per_seq * c.block_size);
  if (c.must_split) REQUIRE(full_workspace > 0);
  const auto d_workspace = ToDevice(std::vector<uint8_t>(std::max<size_t>(full_workspace, 16)));
  struct Mode {
    const char* name;
    size_t workspace_bytes;
  };
  const Mode modes[] = {{"full workspace", full_workspace},
                        {"a fifth of the workspace", full_workspace / 5 / 16 * 16},
                        {"no workspace", 0}};
  for (const Mode& mode : modes) {
    CAPTURE(mode.name, mode.workspace_bytes);
    CUDA_REQUIRE(cudaMemset(d_out.get(), 0xFF, out_elements * sizeof(uint16_t)));  // poison: NaN
    CUDA_REQUIRE(cudaMemset(d_workspace.get(), 0xFF, std::max<size_t>(full_workspace, 16)));
    params.workspace = mode.workspace_bytes > 0 ? d_workspace.get() : nullptr;
    params.workspace_bytes = mode.workspace_bytes;
    CUDA_REQUIRE(kernels::LaunchPagedAttention(params, nullptr));
    CUDA_REQUIRE(cudaDeviceSynchronize());

    if (c.must_split && mode.workspace_bytes == full_workspace) {
      const std::vector<uint8_t> workspace = ToHost(d_workspace.get(), full_workspace);
      CHECK(std::any_of(workspace.begin(), workspace.end(), [](uint8_t byte) { return byte != 0xFF; }));
    }
    std::vector<float> got;
    for (uint16_t bits : ToHost(d_out.get(), out_elements)) got.push_back(BF16ToFloat(bits));
    for (float value : got) REQUIRE(std::isfinite(value));  // every element written
    double max_ref = 0.0, max_error = 0.0;
    for (size_t i = 0; i < got.size(); ++i) {
      max_ref = std::max(max_ref, std::abs(ref.exact[i]));
      max_error = std::max(max_error, std::abs(got[i] - ref.exact[i]));
    }
    const double kernel_error = RelativeError(ref.exact, got);
    const double reference_error = RelativeError(ref.exact, ref.same_precision);
    CAPTURE(num_tokens, kernel_error, reference_error, max_error, max_ref);
    CHECK(kernel_error <= 2.0 * reference_error + 1e-6);
    // bf16 rounding alone is at most 2^-9 relative; this catches a single wrong head or token.
    CHECK(max_error <= 1e-2 * max_ref);
  }
}

TEST_CASE("paged attention refuses unsupported shapes", "[gpu]") {
  kernels::PagedAttentionParams params;
  params.q_stride = 8 * 128;
  params.max_blocks_per_seq = 4;
  params.num_tokens = 1;
  params.num_heads = 8;
  params.num_kv_heads = 2;
  params.head_dim = 96;
  params.block_size = 16;
  params.scale = 0.1f;
  CHECK(kernels::LaunchPagedAttention(params, nullptr) == cudaErrorInvalidValue);
  params.head_dim = 128;
  params.num_kv_heads = 3;  // 8 query heads do not split into 3 groups
  CHECK(kernels::LaunchPagedAttention(params, nullptr) == cudaErrorInvalidValue);
  params.num_kv_heads = 0;
  CHECK(kernels::LaunchPagedAttention(params, nullptr) == cudaErrorInvalidValue);
  params.num_kv_heads = 2;
  params.block_size = 0;
  CHECK(kernels::LaunchPagedAttention(params, nullptr) == cudaErrorInvalidValue);
  params.block_size = 16;
  params.num_tokens = 0;  // an empty batch is a no-op, whatever the pointers
  CHECK(kernels::LaunchPagedAttention(params, nullptr) == cudaSuccess);
  CHECK(cudaGetLastError() == cudaSuccess);
}

}  // namespace specd
