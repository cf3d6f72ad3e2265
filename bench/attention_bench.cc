// Our paged attention kernels alone, bf16, on random inputs (kernels/paged_attention.h, the
// split-KV kernel for decode; kernels/paged_attention_mma.h, tensor cores for prompt chunks):
//   decode: 32 query / 8 KV heads, head dim 128, block size 16, one query token per sequence at
//           batch x context of 32 x 4096, 1 x 65536 and 1 x 8192; effective bandwidth = K and V
//           bytes read / time.
//   prefill: causal, 4 sequences x 4096 tokens, 32 heads (32 KV heads), head dim 128; TFLOP/s
//           counting 4 * d * s (s + 1) / 2 per head and sequence (the visible (query, key) pairs
//           of QK^T and PV); the split-KV kernel, the tensor-core kernel's default, then each
//           tensor-core variant.
// Block tables are shuffled so the cache is read out of order, as it is in a server. Times are
// CUDA-event means over repeated launches after a warm-up. Prints JSON lines; --out writes them
// as one JSON array.
//
// --flex: the attention modifiers instead (kernels/attention_modifier.h; PyTorch's FlexAttention
// on the same cases is bench/torch_flex_attention_bench.py), each in
//   prefill: 4 x 4096, 32 heads (32 KV heads), head dim 128, tensor cores; TFLOP/s counting only
//            visible score elements: 4 * head_dim * (visible (query, key) pairs) per head (QK^T
//            and PV, 2 flops a multiply-add each);
//   decode:  8 x 8192, 32 query / 8 KV heads, split-KV kernel; TB/s counting only the bytes a
//            query must read: K and V rows of its visible keys;
// plus sliding-window (4096) decode at contexts 8k, 32k and 128k: its time must not grow with the
// context past the window.
//
// usage: specd_bench_attention [--flex [--variant N]] [--out FILE]
// --variant: the flex prefill cases on tensor-core variant N (LaunchPagedAttentionMmaVariant).
#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <iostream>
#include <numeric>
#include <random>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/gpu_name.h"
#include "engine/base/flag_parser.h"
#include "engine/base/logging.h"
#include "engine/runner/cuda/device_buffer.h"
#include "kernels/paged_attention.h"
#include "kernels/paged_attention_mma.h"
#include "kernels/random_fill.h"

namespace specd {
namespace {

constexpr int kHeadDim = 128;
constexpr int kBlockSize = 16;

using Launcher = std::function<cudaError_t(const kernels::PagedAttentionParams&, cudaStream_t)>;
using kernels::AttentionModifierKind;

// A modifier as benchmarked: its descriptor's kind and parameters (documents: fixed length).
struct BenchModifier {
  std::string name = "causal";
  AttentionModifierKind kind = AttentionModifierKind::kCausal;
  int window = 0;
  float softcap = 0.0f;
  int prefix_length = 0;
  int document_length = 0;
};

struct Case {
  std::string kind;  // "decode" or "prefill"
  bool tensor_cores = false;
  int batch = 0;
  int context = 0;   // tokens per sequence
  int num_heads = 0;
  int num_kv_heads = 0;
  int mma_variant = -1;  // tensor cores: LaunchPagedAttentionMmaVariant's variant; -1: the default
  BenchModifier modifier = {};
};

// The per-sequence arrays a modifier reads, on the host (for counting) and the device.
struct ModifierInputs {
  std::vector<int> seq_lens;         // [batch]
  std::vector<int> document_starts;  // [batch, stride]
  int stride = 1;
  DeviceBuffer<int> seq_lens_d, document_starts_d;
};

Launcher LauncherFor(const Case& c) {
  if (!c.tensor_cores) return kernels::LaunchPagedAttention;
  if (c.mma_variant < 0) return kernels::LaunchPagedAttentionMma;
  return [variant = c.mma_variant](const kernels::PagedAttentionParams& p, cudaStream_t stream) {
    return kernels::LaunchPagedAttentionMmaVariant(p, variant, stream);
  };
}

std::string ImplementationName(const Case& c) {
  if (!c.tensor_cores) return "specd paged attention, split-KV (CUDA cores)";
  if (c.mma_variant < 0) return "specd paged attention, tensor cores";
  return std::string("specd paged attention, tensor cores variant ") + std::to_string(c.mma_variant) + ": " +
         kernels::PagedAttentionMmaVariantName(c.mma_variant);
}

void Check(cudaError_t error, const char* what) { SPECD_CHECK(error == cudaSuccess) << what << ": " << cudaGetErrorString(error); }
void Check(const Status& status) { SPECD_CHECK(status.ok()) << status.ToString(); }

void Fill(DeviceBuffer<__nv_bfloat16>& buffer, size_t count, uint64_t seed, const char* what) {
  Check(buffer.Allocate(count, what));
  Check(kernels::LaunchRandomFill({buffer.get(), static_cast<int64_t>(count), seed, 0.0f, 1.0f}, nullptr), what);
}

template <typename T>
void Upload(DeviceBuffer<T>& buffer, const std::vector<T>& host, const char* what) {
  Check(buffer.Allocate(host.size(), what));
  Check(cudaMemcpy(buffer.get(), host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice), what);
}

void MakeModifierInputs(const Case& c, ModifierInputs& m) {
  m.seq_lens.assign(static_cast<size_t>(c.batch), c.context);
  const int length = c.modifier.document_length > 0 ? c.modifier.document_length : c.context;
  m.stride = (c.context + length - 1) / length;
  for (int s = 0; s < c.batch; ++s) {
    for (int d = 0; d < m.stride; ++d) m.document_starts.push_back(d * length);
  }
  Upload(m.seq_lens_d, m.seq_lens, "sequence lengths");
  Upload(m.document_starts_d, m.document_starts, "document starts");
}

kernels::AttentionModifier Descriptor(const BenchModifier& b, const int* seq_lens, const int* document_starts,
                                      int stride) {
  kernels::AttentionModifier m;
  m.kind = b.kind;
  m.window = b.window;
  m.softcap = b.softcap;
  m.prefix_length = b.prefix_length;
  m.seq_lens = seq_lens;
  m.document_starts = document_starts;
  m.documents_stride = stride;
  return m;
}

// Visible (query, key) pairs of the batch: the counting rule of the TFLOP/s and TB/s figures.
double VisiblePairs(const Case& c, const ModifierInputs& m, const std::vector<int>& token_seq,
                    const std::vector<int>& positions) {
  const kernels::AttentionModifier host =
      Descriptor(c.modifier, m.seq_lens.data(), m.document_starts.data(), m.stride);
  return kernels::DispatchAttentionModifier(
      host, c.num_heads,
      [&](const auto& modifier) {
        double pairs = 0;
        for (size_t t = 0; t < positions.size(); ++t) {
          const kernels::KeyInterval keys = modifier.Keys(token_seq[t], positions[t]);
          pairs += keys.last - keys.first + 1;
        }
        return pairs;
      },
      []() -> double { SPECD_CHECK(false) << "unknown modifier"; return 0; });
}

// Mean milliseconds per launch.
// The warm-up is as long as the measurement: with 3 launches the first tensor-core case after the
// slow split-KV prefill measured 4% under the same kernel timed again.
double TimeLaunches(const Launcher& launch, const kernels::PagedAttentionParams& params, int iterations) {
  for (int i = 0; i < iterations; ++i) Check(launch(params, nullptr), "warm-up");
  cudaEvent_t start, stop;
  Check(cudaEventCreate(&start), "event");
  Check(cudaEventCreate(&stop), "event");
  Check(cudaEventRecord(start), "record");
  for (int i = 0; i < iterations; ++i) Check(launch(params, nullptr), "launch");
  Check(cudaEventRecord(stop), "record");
  Check(cudaEventSynchronize(stop), "synchronize");
  float ms = 0;
  Check(cudaEventElapsedTime(&ms, start, stop), "elapsed");
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return ms / iterations;
}

nlohmann::json Run(const Case& c) {
  const bool decode = c.kind == "decode";
  const int blocks_per_seq = (c.context + kBlockSize - 1) / kBlockSize;
  const int num_blocks = c.batch * blocks_per_seq;
  const int tokens = decode ? c.batch : c.batch * c.context;
  const size_t cache_elements = static_cast<size_t>(num_blocks) * kBlockSize * c.num_kv_heads * kHeadDim;
  DeviceBuffer<__nv_bfloat16> q, k_cache, v_cache, out;
  DeviceBuffer<uint8_t> workspace;  // split-KV partials
  Fill(q, static_cast<size_t>(tokens) * c.num_heads * kHeadDim, 1, "q");
  Fill(k_cache, cache_elements, 2, "k cache");
  Fill(v_cache, cache_elements, 3, "v cache");
  Check(out.Allocate(static_cast<size_t>(tokens) * c.num_heads * kHeadDim, "out"));
  Check(workspace.Allocate(kernels::PagedAttentionWorkspaceBytes(tokens, c.num_heads, kHeadDim, c.context),
                           "attention workspace"));

  std::vector<int> tables(static_cast<size_t>(num_blocks));
  std::iota(tables.begin(), tables.end(), 0);
  std::shuffle(tables.begin(), tables.end(), std::mt19937(5));
  std::vector<int> token_seq, positions;
  for (int s = 0; s < c.batch; ++s) {
    for (int p = decode ? c.context - 1 : 0; p < c.context; ++p) {
      token_seq.push_back(s);
      positions.push_back(p);
    }
  }
  DeviceBuffer<int> tables_d, token_seq_d, positions_d;
  Upload(tables_d, tables, "block tables");
  Upload(token_seq_d, token_seq, "token sequences");
  Upload(positions_d, positions, "positions");
  ModifierInputs modifier_inputs;
  MakeModifierInputs(c, modifier_inputs);

  kernels::PagedAttentionParams p;
  p.q = q.get();
  p.q_stride = c.num_heads * kHeadDim;
  p.k_cache = k_cache.get();
  p.v_cache = v_cache.get();
  p.block_tables = tables_d.get();
  p.max_blocks_per_seq = blocks_per_seq;
  p.token_seq = token_seq_d.get();
  p.positions = positions_d.get();
  p.out = out.get();
  p.num_tokens = tokens;
  p.num_heads = c.num_heads;
  p.num_kv_heads = c.num_kv_heads;
  p.head_dim = kHeadDim;
  p.block_size = kBlockSize;
  p.scale = 1.0f / std::sqrt(static_cast<float>(kHeadDim));
  p.workspace = workspace.get();
  p.workspace_bytes = workspace.bytes();
  p.modifier = Descriptor(c.modifier, modifier_inputs.seq_lens_d.get(), modifier_inputs.document_starts_d.get(),
                          modifier_inputs.stride);
  const double ms = TimeLaunches(LauncherFor(c), p, decode ? 50 : c.tensor_cores ? 20 : 3);

  nlohmann::json row = {{"kind", c.kind}, {"batch", c.batch}, {"context", c.context}, {"num_heads", c.num_heads},
                        {"num_kv_heads", c.num_kv_heads}, {"head_dim", kHeadDim}, {"block_size", kBlockSize},
                        {"ms", ms}, {"implementation", ImplementationName(c)}, {"modifier", c.modifier.name}};
  const double pairs = VisiblePairs(c, modifier_inputs, token_seq, positions);
  if (decode) {
    const double kv_bytes = 2.0 * pairs * c.num_kv_heads * kHeadDim * sizeof(__nv_bfloat16);
    row["tb_per_s"] = kv_bytes / (ms * 1e-3) / 1e12;
  } else {
    const double flops = 4.0 * c.num_heads * pairs * kHeadDim;
    row["tflop_per_s"] = flops / (ms * 1e-3) / 1e12;
  }
  return row;
}

std::vector<Case> DefaultCases() {
  std::vector<Case> cases = {{"decode", false, 32, 4096, 32, 8}, {"decode", false, 1, 65536, 32, 8},
                             {"decode", false, 1, 8192, 32, 8}, {"prefill", false, 4, 4096, 32, 32},
                             {"prefill", true, 4, 4096, 32, 32}};
  for (int v = 0; v < kernels::PagedAttentionMmaNumVariants(); ++v) cases.push_back({"prefill", true, 4, 4096, 32, 32, v});
  return cases;
}

// The modifiers of --flex (the same list as bench/torch_flex_attention_bench.py).
std::vector<BenchModifier> FlexModifiers() {
  return {{"causal"},
          {"sliding window 1024", AttentionModifierKind::kSlidingWindow, 1024},
          {"soft-capping 50", AttentionModifierKind::kSoftCap, 0, 50.0f},
          {"alibi", AttentionModifierKind::kAlibi},
          {"prefix-lm 1024", AttentionModifierKind::kPrefixLm, 0, 0.0f, 1024},
          {"bidirectional (prefix-lm, whole sequence)", AttentionModifierKind::kPrefixLm, 0, 0.0f, 1 << 30},
          {"documents of 1024", AttentionModifierKind::kDocument, 0, 0.0f, 0, 1024}};
}

// mma_variant: the tensor-core variant of the prefill cases (-1: the default).
std::vector<Case> FlexCases(int mma_variant) {
  std::vector<Case> cases;
  for (const BenchModifier& m : FlexModifiers()) {
    cases.push_back({"prefill", true, 4, 4096, 32, 32, mma_variant, m});
    cases.push_back({"decode", false, 8, 8192, 32, 8, -1, m});
  }
  const BenchModifier window{"sliding window 4096", AttentionModifierKind::kSlidingWindow, 4096};
  for (const int context : {8192, 32768, 131072}) cases.push_back({"decode", false, 8, context, 32, 8, -1, window});
  return cases;
}

int Main(int argc, char** argv) {
  FlagParser flags({"out", "variant"}, {"flex"});
  SPECD_CHECK(flags.Parse(std::vector<std::string>(argv + 1, argv + argc)).ok()) << "bad flags";
  const StatusOr<int64_t> variant = flags.GetInt("variant", -1);
  SPECD_CHECK(variant.ok() && *variant >= -1 && *variant < kernels::PagedAttentionMmaNumVariants())
      << "--variant: a tensor-core variant 0.." << kernels::PagedAttentionMmaNumVariants() - 1 << " or -1";
  const std::vector<Case> cases = flags.Has("flex") ? FlexCases(static_cast<int>(*variant)) : DefaultCases();
  nlohmann::json rows = nlohmann::json::array();
  for (const Case& c : cases) {
    nlohmann::json row = Run(c);
    row["card"] = bench::GpuName();
    std::cout << row.dump() << std::endl;
    rows.push_back(row);
  }
  if (flags.Has("out")) std::ofstream(flags.GetString("out", "")) << rows.dump(2) << "\n";
  return 0;
}

}  // namespace
}  // namespace specd

int main(int argc, char** argv) { return specd::Main(argc, argv); }
