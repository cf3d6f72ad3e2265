#include "bench/pairs/rope_q_cache_pair.h"

#include <numeric>
#include <optional>
#include <random>
#include <vector>

#include "bench/pairs/device_memory.h"
#include "bench/pairs/gpu_arrays.h"
#include "bench/pairs/gpu_iteration_timer.h"
#include "bench/pairs/repository_path.h"
#include "engine/model/model_config.h"
#include "engine/runner/rope_table.h"
#include "kernels/elementwise.h"

namespace specd::bench {
namespace {

constexpr char kShape[] = "bench/shapes/llama-3.1-8b";
constexpr int kTokenCounts[] = {64, 256};
constexpr int kQuickTokenCounts = 1;  // --quick: the first batch only
constexpr int kMaxDecodePosition = 32768;
constexpr uint64_t kSeed = 20;
constexpr float kQkvScale = 1.0f;

// One decode batch: qkv rows, a distinct cache slot a token (slot t), random positions.
struct RopeBatch {
  int num_tokens = 0;
  DeviceBuffer<__nv_bfloat16> qkv;      // [num_tokens, (num_heads + 2 * num_kv_heads) * head_dim]
  DeviceBuffer<int> positions;          // [num_tokens]
  DeviceBuffer<int64_t> slots;          // [num_tokens]
  DeviceBuffer<__nv_bfloat16> k_cache;  // [num_tokens, num_kv_heads, head_dim]
  DeviceBuffer<__nv_bfloat16> v_cache;  // [num_tokens, num_kv_heads, head_dim]
};

StatusOr<RopeBatch> MakeBatch(const ModelConfig& config, int num_tokens) {
  RopeBatch batch;
  batch.num_tokens = num_tokens;
  const int64_t row = (config.q_size() + 2 * config.kv_size());
  SPECD_ASSIGN_OR_RETURN(batch.qkv, RandomBf16Array(num_tokens * row, kSeed + num_tokens, kQkvScale, "qkv"));
  std::mt19937 rng(static_cast<uint32_t>(kSeed + num_tokens));
  std::uniform_int_distribution<int> position(0, kMaxDecodePosition - 1);
  std::vector<int> positions(static_cast<size_t>(num_tokens));
  for (int& p : positions) p = position(rng);
  std::vector<int64_t> slots(static_cast<size_t>(num_tokens));
  std::iota(slots.begin(), slots.end(), int64_t{0});
  SPECD_ASSIGN_OR_RETURN(batch.positions, UploadArray(positions, "positions"));
  SPECD_ASSIGN_OR_RETURN(batch.slots, UploadArray(slots, "slots"));
  SPECD_RETURN_IF_ERROR(batch.k_cache.Allocate(static_cast<size_t>(num_tokens * config.kv_size()), "K cache"));
  SPECD_RETURN_IF_ERROR(batch.v_cache.Allocate(static_cast<size_t>(num_tokens * config.kv_size()), "V cache"));
  return batch;
}

// The baseline's frequencies and, for the optimized variant, the table built from them.
struct RopeFrequencies {
  DeviceBuffer<float> inv_freq;  // [head_dim / 2]
  DeviceBuffer<float2> cos_sin;  // [max_position_embeddings, head_dim / 2]; empty: computed
};

StatusOr<RopeFrequencies> MakeFrequencies(const ModelConfig& config, bool table) {
  RopeFrequencies frequencies;
  const RopeTable rope(config.rope, config.head_dim);
  SPECD_ASSIGN_OR_RETURN(frequencies.inv_freq, UploadArray(rope.inv_freq(), "inverse frequencies"));
  if (!table) return frequencies;
  const int max_position = static_cast<int>(config.max_position_embeddings);
  SPECD_RETURN_IF_ERROR(
      frequencies.cos_sin.Allocate(static_cast<size_t>(max_position) * config.head_dim / 2, "RoPE cos/sin table"));
  const kernels::RopeCosSinTableParams params{.inv_freq = frequencies.inv_freq.get(), .table = frequencies.cos_sin.get(),
                                              .max_position = max_position, .head_dim = static_cast<int>(config.head_dim)};
  SPECD_RETURN_IF_ERROR(CudaStatus(kernels::LaunchRopeCosSinTable(params, nullptr), "building the RoPE table"));
  return frequencies;
}

Status RotateAndWrite(const ModelConfig& config, const RopeFrequencies& frequencies, const RopeBatch& batch) {
  kernels::RopeCacheWriteParams params;
  params.qkv = batch.qkv.get();
  params.positions = batch.positions.get();
  params.slots = batch.slots.get();
  params.inv_freq = frequencies.inv_freq.get();
  params.cos_sin = frequencies.cos_sin.get();  // null for the baseline: computed
  params.k_cache = batch.k_cache.get();
  params.v_cache = batch.v_cache.get();
  params.num_tokens = batch.num_tokens;
  params.num_heads = static_cast<int>(config.num_attention_heads);
  params.num_kv_heads = static_cast<int>(config.num_key_value_heads);
  params.head_dim = static_cast<int>(config.head_dim);
  return CudaStatus(kernels::LaunchRopeCacheWrite(params, nullptr), "RoPE + cache write");
}

Status AppendOutputs(const RopeBatch& batch, std::vector<float>& values) {
  for (const DeviceBuffer<__nv_bfloat16>* array : {&batch.qkv, &batch.k_cache, &batch.v_cache}) {
    SPECD_ASSIGN_OR_RETURN(const std::vector<float> part, DownloadBf16AsFloats(array->get(), array->size()));
    values.insert(values.end(), part.begin(), part.end());
  }
  return OkStatus();
}

}  // namespace

StatusOr<VariantRun> RopeQCachePair::Run(Variant variant, const RunSettings& settings) {
  SPECD_ASSIGN_OR_RETURN(const ModelConfig config, LoadModelConfig(RepositoryPath(kShape)));
  const std::optional<int64_t> memory_before = DeviceMemoryInUse();
  SPECD_ASSIGN_OR_RETURN(const RopeFrequencies frequencies, MakeFrequencies(config, variant == Variant::kOptimized));
  const size_t num_batches = settings.quick ? kQuickTokenCounts : std::size(kTokenCounts);
  std::vector<RopeBatch> batches;
  VariantRun run;
  run.tokens_per_iteration = 0.0;
  for (size_t i = 0; i < num_batches; ++i) {
    SPECD_ASSIGN_OR_RETURN(RopeBatch batch, MakeBatch(config, kTokenCounts[i]));
    batches.push_back(std::move(batch));
    *run.tokens_per_iteration += kTokenCounts[i];
  }
  run.memory_bytes = DeviceMemoryGrowth(memory_before, DeviceMemoryInUse());
  SPECD_ASSIGN_OR_RETURN(run.samples_ms, TimeGpuIterations(settings.repeats, [&]() -> Status {
                           for (int64_t layer = 0; layer < config.num_hidden_layers; ++layer) {
                             for (const RopeBatch& batch : batches) {
                               SPECD_RETURN_IF_ERROR(RotateAndWrite(config, frequencies, batch));
                             }
                           }
                           return OkStatus();
                         }));
  for (const RopeBatch& batch : batches) SPECD_RETURN_IF_ERROR(AppendOutputs(batch, run.outputs.values));
  return run;
}

}  // namespace specd::bench
