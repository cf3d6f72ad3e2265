#include "bench/pairs/flexdecoding_pair.h"

#include <memory>
#include <optional>
#include <vector>

#include "bench/pairs/decode_attention_batch.h"
#include "bench/pairs/device_memory.h"
#include "bench/pairs/gpu_iteration_timer.h"
#include "engine/runner/cuda/cuda_status.h"

namespace specd::bench {
namespace {

constexpr int kWindow = 4096;
constexpr int kBatch = 8;
constexpr int kContexts[] = {8192, 32768};
constexpr int kQuickContexts = 1;      // --quick: the first context only
constexpr int kSampledTokens[] = {0, 5};  // tokens of each batch checked against the reference
constexpr uint64_t kSeed = 40;

kernels::AttentionModifier WindowModifier(bool skip_masked_blocks) {
  kernels::AttentionModifier modifier;
  modifier.kind = kernels::AttentionModifierKind::kSlidingWindow;
  modifier.window = kWindow;
  modifier.skip_masked_blocks = skip_masked_blocks;
  return modifier;
}

// The sampled tokens' outputs (every head and dim) and their fp64 references.
Status AppendSample(const DecodeAttentionBatch& batch, PairOutputs& outputs) {
  const DecodeAttentionShape& shape = batch.shape();
  const size_t row = static_cast<size_t>(shape.num_heads) * shape.head_dim;
  SPECD_ASSIGN_OR_RETURN(const std::vector<float> output, batch.Output());
  for (const int token : kSampledTokens) {
    const auto begin = output.begin() + static_cast<std::ptrdiff_t>(token * row);
    outputs.values.insert(outputs.values.end(), begin, begin + static_cast<std::ptrdiff_t>(row));
    SPECD_ASSIGN_OR_RETURN(const std::vector<double> reference, batch.Reference(token, shape.context - kWindow));
    outputs.reference.insert(outputs.reference.end(), reference.begin(), reference.end());
  }
  return OkStatus();
}

}  // namespace

StatusOr<VariantRun> FlexdecodingPair::Run(Variant variant, const RunSettings& settings) {
  const kernels::AttentionModifier modifier = WindowModifier(variant == Variant::kOptimized);
  const size_t num_contexts = settings.quick ? kQuickContexts : std::size(kContexts);
  const std::optional<int64_t> memory_before = DeviceMemoryInUse();
  std::vector<std::unique_ptr<DecodeAttentionBatch>> batches;
  for (size_t i = 0; i < num_contexts; ++i) {
    SPECD_ASSIGN_OR_RETURN(auto batch, DecodeAttentionBatch::Create({.batch = kBatch, .context = kContexts[i]},
                                                                    BlockLayout::kScattered, kSeed + i));
    batches.push_back(std::move(batch));
  }
  VariantRun run;
  run.memory_bytes = DeviceMemoryGrowth(memory_before, DeviceMemoryInUse());
  run.tokens_per_iteration = static_cast<double>(kBatch * num_contexts);
  SPECD_ASSIGN_OR_RETURN(run.samples_ms, TimeGpuIterations(settings.repeats, [&]() -> Status {
                           for (const auto& batch : batches) {
                             kernels::PagedAttentionParams params = batch->Params();
                             params.modifier = modifier;
                             SPECD_RETURN_IF_ERROR(CudaStatus(kernels::LaunchPagedAttention(params, nullptr),
                                                              "sliding-window attention"));
                           }
                           return OkStatus();
                         }));
  for (const auto& batch : batches) SPECD_RETURN_IF_ERROR(AppendSample(*batch, run.outputs));
  return run;
}

}  // namespace specd::bench
