#include "bench/pairs/paged_attn_pair.h"

#include <memory>
#include <optional>
#include <vector>

#include "bench/pairs/decode_attention_batch.h"
#include "bench/pairs/device_memory.h"
#include "bench/pairs/gpu_arrays.h"
#include "bench/pairs/gpu_iteration_timer.h"
#include "bench/pairs/pair_kernels.h"

namespace specd::bench {
namespace {

constexpr int kContext = 4096;
constexpr int kBatches[] = {8, 32};
constexpr int kQuickBatches = 1;  // --quick: the first batch only
constexpr uint64_t kSeed = 10;

// A batch over the scattered cache and, for the baseline, the contiguous copy its gather fills:
// sequence s's block i at s * blocks_per_seq + i (an identity block table).
struct Step {
  std::unique_ptr<DecodeAttentionBatch> batch;
  DeviceBuffer<__nv_bfloat16> k_copy;  // [batch * context, num_kv_heads, head_dim]
  DeviceBuffer<__nv_bfloat16> v_copy;  // [batch * context, num_kv_heads, head_dim]
  DeviceBuffer<int> identity_tables;   // [batch, blocks_per_seq]
};

StatusOr<Step> MakeStep(int batch_size, bool gathered) {
  Step step;
  SPECD_ASSIGN_OR_RETURN(step.batch, DecodeAttentionBatch::Create({.batch = batch_size, .context = kContext},
                                                                  BlockLayout::kScattered, kSeed + batch_size));
  if (!gathered) return step;
  const size_t cache_count = static_cast<size_t>(batch_size) * step.batch->blocks_per_seq() * step.batch->block_elements();
  SPECD_RETURN_IF_ERROR(step.k_copy.Allocate(cache_count, "contiguous K copy"));
  SPECD_RETURN_IF_ERROR(step.v_copy.Allocate(cache_count, "contiguous V copy"));
  std::vector<int> identity(static_cast<size_t>(batch_size) * step.batch->blocks_per_seq());
  for (size_t b = 0; b < identity.size(); ++b) identity[b] = static_cast<int>(b);
  SPECD_ASSIGN_OR_RETURN(step.identity_tables, UploadArray(identity, "identity block tables"));
  return step;
}

// Baseline: gather, then attend on the copy; optimized: attend on the paged cache.
Status Attend(const Step& step) {
  kernels::PagedAttentionParams params = step.batch->Params();
  if (step.k_copy.get() != nullptr) {
    const KvGatherParams gather{.k_cache = step.batch->k_cache(), .v_cache = step.batch->v_cache(),
                                .block_ids = step.batch->block_tables(), .k_out = step.k_copy.get(),
                                .v_out = step.v_copy.get(), .num_blocks = static_cast<int>(step.identity_tables.size()),
                                .block_elements = step.batch->block_elements()};
    SPECD_RETURN_IF_ERROR(CudaStatus(LaunchKvGather(gather, nullptr), "gathering the KV cache"));
    params.k_cache = step.k_copy.get();
    params.v_cache = step.v_copy.get();
    params.block_tables = step.identity_tables.get();
  }
  return CudaStatus(kernels::LaunchPagedAttention(params, nullptr), "paged attention");
}

}  // namespace

StatusOr<VariantRun> PagedAttnPair::Run(Variant variant, const RunSettings& settings) {
  const std::optional<int64_t> memory_before = DeviceMemoryInUse();
  const size_t num_steps = settings.quick ? kQuickBatches : std::size(kBatches);
  std::vector<Step> steps;
  VariantRun run;
  run.tokens_per_iteration = 0.0;
  for (size_t i = 0; i < num_steps; ++i) {
    SPECD_ASSIGN_OR_RETURN(Step step, MakeStep(kBatches[i], variant == Variant::kBaseline));
    steps.push_back(std::move(step));
    *run.tokens_per_iteration += kBatches[i];
  }
  run.memory_bytes = DeviceMemoryGrowth(memory_before, DeviceMemoryInUse());
  SPECD_ASSIGN_OR_RETURN(run.samples_ms, TimeGpuIterations(settings.repeats, [&]() -> Status {
                           for (const Step& step : steps) SPECD_RETURN_IF_ERROR(Attend(step));
                           return OkStatus();
                         }));
  for (const Step& step : steps) {
    SPECD_ASSIGN_OR_RETURN(const std::vector<float> output, step.batch->Output());
    run.outputs.values.insert(run.outputs.values.end(), output.begin(), output.end());
  }
  return run;
}

}  // namespace specd::bench
