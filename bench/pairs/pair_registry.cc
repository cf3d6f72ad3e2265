#include "bench/pairs/pair_registry.h"

#include <map>

#include "bench/pairs/speculative_pair.h"
#include "engine/runner/runner_factory.h"
#ifdef SPECD_WITH_CUDA_RUNNER
#include "bench/pairs/engine_cuda_pair.h"
#include "bench/pairs/flexdecoding_pair.h"
#include "bench/pairs/paged_attn_pair.h"
#include "bench/pairs/rope_q_cache_pair.h"
#include "bench/pairs/runner_decode_pair.h"
#include "bench/pairs/tensor_cores_pair.h"
#endif

namespace specd::bench {
namespace {

using Factory = std::function<std::unique_ptr<BenchmarkPair>()>;

constexpr char kNoCuda[] = "this build has no CUDA runner (configured with SPECD_WITH_CUDA=OFF)";

struct PairDescription {
  const char* name;
  const char* description;
  bool needs_gpu;
};

constexpr PairDescription kPairs[] = {
    {"flexdecoding", "sliding-window decode (window 4096, 8k and 32k contexts): every block read and masked vs only "
                     "the window's blocks", true},
    {"cudagraph_bucketing", "CUDA runner decode, batch 1 and 8: eager vs bucketed CUDA graph replay", true},
    {"eos_sync_polling", "engine decode: logits to the host each step for sampling and stop checks vs GPU "
                         "sampling (token ids only come back)", true},
    {"rope_q_cache", "RoPE + KV cache write, 64 and 256 tokens: cos/sin recomputed per token vs read from a "
                     "cached table", true},
    {"paged_attn", "decode attention over a scattered paged cache: gather into a contiguous buffer then attend vs our "
                   "paged kernel", true},
    {"tensor_cores", "a Llama-3.1-8B layer's GEMMs at 512 rows: fp32 SGEMM (no TF32) vs bf16 tensor-core cuBLASLt",
     true},
    {"tiny_gemm_pdl", "CUDA runner batch-1 decode (skinny GEMM chain): programmatic dependent launch off vs on", true},
    {"decode_graphs", "engine decode, 8 requests, batch-invariant: eager vs CUDA graphs", true},
    {"v1_integration", "engine, 8 requests sharing a 512-token prefix: eager without prefix caching vs graphs with "
                       "prefix caching", true},
    {"speculative", "engine on the bundled pair, greedy: plain decoding vs draft-and-verify", false},
};

template <typename Pair, typename... Args>
Factory Make(Args... args) {
  return [=] { return std::unique_ptr<BenchmarkPair>(std::make_unique<Pair>(args...)); };
}

// The GPU pairs this build can run, by name.
std::map<std::string, Factory> GpuFactories() {
#ifdef SPECD_WITH_CUDA_RUNNER
  return {{"cudagraph_bucketing", Make<RunnerDecodePair>(RunnerDecodePair::Knob::kCudaGraphs)},
          {"tiny_gemm_pdl", Make<RunnerDecodePair>(RunnerDecodePair::Knob::kPdl)},
          {"eos_sync_polling", Make<EngineCudaPair>(EngineCudaPair::Setup::kGpuSampling)},
          {"decode_graphs", Make<EngineCudaPair>(EngineCudaPair::Setup::kDecodeGraphs)},
          {"v1_integration", Make<EngineCudaPair>(EngineCudaPair::Setup::kGraphsAndPrefixCaching)},
          {"flexdecoding", Make<FlexdecodingPair>()},
          {"rope_q_cache", Make<RopeQCachePair>()},
          {"paged_attn", Make<PagedAttnPair>()},
          {"tensor_cores", Make<TensorCoresPair>()}};
#else
  return {};
#endif
}

}  // namespace

std::vector<PairEntry> AllPairs(bool has_gpu) {
  std::map<std::string, Factory> factories = GpuFactories();
  factories["speculative"] = Make<SpeculativePair>(std::string(has_gpu && CudaRunnerBuilt() ? "cuda" : "cpu"));
  std::vector<PairEntry> entries;
  for (const PairDescription& pair : kPairs) {
    const auto factory = factories.find(pair.name);
    const bool built = factory != factories.end();
    entries.push_back({pair.name, pair.description, pair.needs_gpu, built ? factory->second : nullptr,
                       built ? "" : kNoCuda});
  }
  return entries;
}

}  // namespace specd::bench
