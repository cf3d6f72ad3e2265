#include "bench/pairs/pair_registry.h"

#include <map>

#include "bench/pairs/speculative_pair.h"
#include "engine/runner/runner_factory.h"
#ifdef SPECD_WITH_CUDA_RUNNER
#include "bench/pairs/engine_cuda_pair.h"
#include "bench/pairs/runner_decode_pair.h"
#endif

namespace specd::bench {
namespace {

using Factory = std::function<std::unique_ptr<BenchmarkPair>()>;

constexpr char kNoCuda[] = "this build has no CUDA runner (configured with SPECD_WITH_CUDA=OFF)";
constexpr char kNeedsWindowSkipping[] =
    "needs issue 9's window-skipping kernel: our paged kernel already starts each token's key range at "
    "its window, and has no mode that reads the whole cache and masks it, so there is no honest baseline yet";
constexpr char kNotWritten[] = "not written yet (issue 10: the harness is in, this pair is still to come)";

struct PairDescription {
  const char* name;
  const char* description;
  bool needs_gpu;
  const char* pending = nullptr;  // why the pair cannot run in any build yet; nullptr: it can
};

constexpr PairDescription kPairs[] = {
    {"flexdecoding", "sliding-window decode: whole cache read and masked vs only the window's blocks", true,
     kNeedsWindowSkipping},
    {"cudagraph_bucketing", "CUDA runner decode, batch 1 and 8: eager vs bucketed CUDA graph replay", true},
    {"eos_sync_polling", "engine decode: logits to the host each step for sampling and stop checks vs GPU "
                         "sampling (token ids only come back)", true},
    {"rope_q_cache", "RoPE + KV cache write: cos/sin recomputed per token vs read from a cached table", true,
     kNotWritten},
    {"paged_attn", "decode attention: gather the paged KV into a contiguous buffer then attend vs our paged kernel",
     true, kNotWritten},
    {"tensor_cores", "a decode layer's GEMM shapes at 512 rows: fp32 SGEMM vs bf16 tensor-core cuBLASLt", true,
     kNotWritten},
    {"tiny_gemm_pdl", "CUDA runner batch-1 decode (skinny GEMM chain): programmatic dependent launch off vs on", true},
    {"decode_graphs", "engine decode, 8 requests: eager vs CUDA graphs", true},
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
          {"v1_integration", Make<EngineCudaPair>(EngineCudaPair::Setup::kGraphsAndPrefixCaching)}};
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
    const std::string unavailable = pair.pending != nullptr ? pair.pending : (built ? "" : kNoCuda);
    entries.push_back({pair.name, pair.description, pair.needs_gpu, built ? factory->second : nullptr, unavailable});
  }
  return entries;
}

}  // namespace specd::bench
