#include "bench/pairs/runner_decode_pair.h"

#include <chrono>
#include <iterator>
#include <numeric>
#include <random>

#include "bench/pairs/device_memory.h"
#include "bench/pairs/repository_path.h"
#include "engine/runner/cuda/cuda_runner.h"
#include "kernels/pdl_switch.h"

namespace specd::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kShape[] = "bench/shapes/llama-3.2-1b";
constexpr int64_t kBlockSize = 16;
constexpr int64_t kPromptTokens = 128;
constexpr int64_t kMaxTokens = 2048;
constexpr int64_t kBatches[] = {1, 8};
constexpr int64_t kMaxBatch = 8;
constexpr int64_t kSteps = 32, kStepsQuick = 4;
constexpr uint64_t kWeightSeed = 1;
constexpr uint32_t kPromptSeed = 7;

// Restores programmatic dependent launch (the process default) when the variant ends.
class PdlSetting {
 public:
  explicit PdlSetting(bool enabled) { kernels::SetProgrammaticDependentLaunch(enabled); }
  ~PdlSetting() { kernels::SetProgrammaticDependentLaunch(true); }
};

// Sequence s owns blocks [s * blocks_per_seq, (s + 1) * blocks_per_seq); its tokens are the
// prompt, then every sampled token (the last one not yet in the KV cache).
class GreedyDecoder {
 public:
  GreedyDecoder(CudaRunner& runner, int64_t blocks_per_seq) : runner_(runner), blocks_per_seq_(blocks_per_seq) {
    greedy_.temperature = 0.0f;
  }

  Status Prefill(int64_t count, int64_t vocab) {
    std::mt19937 rng(kPromptSeed);
    std::uniform_int_distribution<int32_t> token(0, static_cast<int32_t>(vocab - 1));
    sequences_.resize(static_cast<size_t>(count));
    for (int64_t s = 0; s < count; ++s) {
      Sequence& seq = sequences_[static_cast<size_t>(s)];
      for (int64_t i = 0; i < kPromptTokens; ++i) seq.tokens.push_back(token(rng));
      seq.blocks.resize(static_cast<size_t>(blocks_per_seq_));
      std::iota(seq.blocks.begin(), seq.blocks.end(), static_cast<int32_t>(s * blocks_per_seq_));
    }
    return Step(count, /*prefill=*/true);
  }

  // Every one of the first `batch` sequences brings its last token; the sampled ones are appended.
  Status Step(int64_t batch, bool prefill = false) {
    SchedulerOutput step;
    for (int64_t s = 0; s < batch; ++s) {
      const Sequence& seq = sequences_[static_cast<size_t>(s)];
      const std::span<const int32_t> all(seq.tokens);
      const size_t fed = prefill ? all.size() : 1;
      ScheduledSequence scheduled;
      scheduled.token_ids = all.last(fed);
      scheduled.start_position = static_cast<int64_t>(all.size() - fed);
      scheduled.block_table = seq.blocks;
      scheduled.logits_indices = {static_cast<int32_t>(fed - 1)};
      scheduled.sampling = SamplingRow{.logits = {}, .params = &greedy_, .seed = 0,
                                       .prompt_token_ids = all.first(kPromptTokens),
                                       .output_token_ids = all.subspan(kPromptTokens), .eos_token_ids = {}};
      step.sequences.push_back(scheduled);
    }
    SPECD_ASSIGN_OR_RETURN(const ModelOutput output, runner_.Execute(step));
    for (int64_t s = 0; s < batch; ++s) {
      const int32_t token = output.sampled[static_cast<size_t>(s)].at(0).token;
      sequences_[static_cast<size_t>(s)].tokens.push_back(token);
      sampled_.push_back(token);
    }
    return OkStatus();
  }

  const std::vector<int32_t>& sampled() const { return sampled_; }

 private:
  struct Sequence {
    std::vector<int32_t> tokens;
    std::vector<int32_t> blocks;
  };

  CudaRunner& runner_;
  int64_t blocks_per_seq_;
  SamplingParams greedy_;
  std::vector<Sequence> sequences_;
  std::vector<int32_t> sampled_;  // every step's tokens, in order
};

// kSteps at batch 1, then at batch 8.
Status DecodeRound(GreedyDecoder& decoder, int64_t steps) {
  for (const int64_t batch : kBatches) {
    for (int64_t i = 0; i < steps; ++i) SPECD_RETURN_IF_ERROR(decoder.Step(batch));
  }
  return OkStatus();
}

}  // namespace

StatusOr<VariantRun> RunnerDecodePair::Run(Variant variant, const RunSettings& settings) {
  const bool optimized = variant == Variant::kOptimized;
  const PdlSetting pdl(knob_ != Knob::kPdl || optimized);
  const int64_t steps = settings.quick ? kStepsQuick : kSteps;
  const int64_t positions = kPromptTokens + 1 + (settings.repeats + 1) * steps * static_cast<int64_t>(std::size(kBatches));
  const int64_t blocks_per_seq = positions / kBlockSize + 1;
  SPECD_ASSIGN_OR_RETURN(const ModelConfig config, LoadModelConfig(RepositoryPath(kShape)));
  const std::optional<int64_t> memory_before = DeviceMemoryInUse();
  CudaRunnerOptions options{.block_size = kBlockSize, .num_blocks = blocks_per_seq * kMaxBatch, .max_num_tokens = kMaxTokens};
  options.cuda_graphs = knob_ != Knob::kCudaGraphs || optimized;
  SPECD_ASSIGN_OR_RETURN(auto runner, CudaRunner::CreateWithRandomWeights(config, options, kWeightSeed));
  GreedyDecoder decoder(*runner, blocks_per_seq);
  SPECD_RETURN_IF_ERROR(decoder.Prefill(kMaxBatch, config.vocab_size));
  SPECD_RETURN_IF_ERROR(DecodeRound(decoder, steps));  // warm-up: tuning, graph capture
  VariantRun run;
  for (int i = 0; i < settings.repeats; ++i) {
    const Clock::time_point start = Clock::now();
    SPECD_RETURN_IF_ERROR(DecodeRound(decoder, steps));
    run.samples_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  run.memory_bytes = DeviceMemoryGrowth(memory_before, DeviceMemoryInUse());
  run.tokens_per_iteration = static_cast<double>(steps * std::accumulate(std::begin(kBatches), std::end(kBatches), int64_t{0}));
  run.outputs.token_ids = decoder.sampled();
  return run;
}

}  // namespace specd::bench
