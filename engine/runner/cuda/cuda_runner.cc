#include "engine/runner/cuda/cuda_runner.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "engine/base/logging.h"
#include "engine/runner/batch_validation.h"
#include "engine/runner/fed_tokens.h"
#include "engine/runner/model_attention_modifier.h"
#include "engine/runner/rope_table.h"
#include "engine/runner/row_sampling.h"
#include "kernels/elementwise.h"
#include "kernels/paged_attention.h"
#include "kernels/paged_attention_mma.h"
#include "kernels/rms_norm.h"

namespace specd {
namespace {

constexpr double kMiB = 1 << 20;
// A sequence with this many new tokens in a step (a prompt chunk) fills tensor-core tiles.
constexpr int64_t kTensorCoreQueryTokens = 16;
// Tokens a step may have: the kernels' grids put tokens on a 16-bit grid dimension.
constexpr int64_t kMaxStepTokens = 65535;

int64_t Blocks(int64_t tokens, int64_t block_size) { return (tokens + block_size - 1) / block_size; }

Status CheckOptions(const CudaRunnerOptions& options) {
  if (options.block_size <= 0 || options.max_num_tokens <= 0 || options.max_num_tokens > kMaxStepTokens ||
      options.num_blocks < 0 || options.gpu_memory_utilization <= 0 || options.gpu_memory_utilization > 1) {
    return InvalidArgumentError("CUDA runner: block_size must be positive, max_num_tokens in [1, " +
                                std::to_string(kMaxStepTokens) + "], gpu_memory_utilization in (0, 1]");
  }
  for (int64_t bucket : options.graph_token_buckets) {
    if (bucket <= 0) return InvalidArgumentError("CUDA runner: graph token buckets must be positive, got " + std::to_string(bucket));
  }
  return OkStatus();
}

// The buckets a step fits in: ascending, distinct, at most max_num_tokens.
std::vector<int64_t> GraphBuckets(const CudaRunnerOptions& options) {
  std::vector<int64_t> buckets;
  for (int64_t bucket : options.graph_token_buckets) {
    if (bucket <= options.max_num_tokens) buckets.push_back(bucket);
  }
  std::sort(buckets.begin(), buckets.end());
  buckets.erase(std::unique(buckets.begin(), buckets.end()), buckets.end());
  return buckets;
}

Status CheckGpu() {
  int devices = 0;
  const cudaError_t error = cudaGetDeviceCount(&devices);
  if (error == cudaSuccess && devices > 0) return OkStatus();
  return UnavailableError(std::string("the CUDA runner needs a GPU, and none is usable: ") +
                          (error == cudaSuccess ? "no CUDA device" : cudaGetErrorString(error)));
}

Status CheckHeadDim(const ModelConfig& config, const std::string& model) {
  if (config.head_dim == 64 || config.head_dim == 128) return OkStatus();
  return UnimplementedError(model + ": head_dim " + std::to_string(config.head_dim) +
                            " is not supported by the CUDA runner (64 or 128)");
}

// Device feeds: every fed sequence names a sequence of the last launch that sampled one token.
Status CheckDeviceFeeds(const SchedulerOutput& batch, std::span<const int32_t> device_rows) {
  SPECD_RETURN_IF_ERROR(CheckFedSequences(batch, device_rows.size()));
  for (size_t s = 0; s < batch.sequences.size(); ++s) {
    const int32_t from = batch.sequences[s].fed_from_sequence;
    if (from >= 0 && device_rows[static_cast<size_t>(from)] < 0) {
      return InvalidArgumentError("sequence " + std::to_string(s) + " is fed from sequence " + std::to_string(from) +
                                  " of the previous step, which did not sample one token");
    }
  }
  return OkStatus();
}

}  // namespace

StatusOr<std::unique_ptr<CudaRunner>> CudaRunner::Create(const std::string& model_dir,
                                                         const CudaRunnerOptions& options) {
  SPECD_RETURN_IF_ERROR(CheckOptions(options));
  SPECD_RETURN_IF_ERROR(CheckGpu());
  SPECD_ASSIGN_OR_RETURN(ModelConfig config, LoadModelConfig(model_dir));
  SPECD_RETURN_IF_ERROR(CheckHeadDim(config, model_dir));
  SPECD_ASSIGN_OR_RETURN(const auto host_weights, ModelWeights::Load(model_dir, config));
  SPECD_ASSIGN_OR_RETURN(CudaWeights weights, UploadWeights(config, *host_weights));
  return CreateWithWeights(std::move(config), std::move(weights), options);
}

StatusOr<std::unique_ptr<CudaRunner>> CudaRunner::CreateWithRandomWeights(const ModelConfig& config,
                                                                          const CudaRunnerOptions& options,
                                                                          uint64_t seed) {
  SPECD_RETURN_IF_ERROR(CheckOptions(options));
  SPECD_RETURN_IF_ERROR(CheckGpu());
  SPECD_RETURN_IF_ERROR(CheckHeadDim(config, "the random model"));
  SPECD_ASSIGN_OR_RETURN(CudaWeights weights, RandomWeights(config, seed));
  return CreateWithWeights(config, std::move(weights), options);
}

StatusOr<std::unique_ptr<CudaRunner>> CudaRunner::CreateWithWeights(ModelConfig config, CudaWeights weights,
                                                                    const CudaRunnerOptions& options) {
  std::unique_ptr<CudaRunner> runner(new CudaRunner(std::move(config), std::move(weights), options));
  SPECD_RETURN_IF_ERROR(CudaStatus(cudaStreamCreate(&runner->stream_), "creating a CUDA stream"));
  SPECD_ASSIGN_OR_RETURN(runner->gemm_, LtGemm::Create(options.batch_invariant, options.max_num_tokens, options.fast_small_gemms));
  SPECD_RETURN_IF_ERROR(runner->AllocateWorkspace());
  SPECD_ASSIGN_OR_RETURN(runner->inputs_, StepInputs::Create(options.max_num_tokens, runner->max_blocks_per_seq_));
  if (options.time_steps) {
    SPECD_ASSIGN_OR_RETURN(runner->step_timer_, StepTimer::Create());
  }
  if (options.gpu_sampling) {
    SPECD_ASSIGN_OR_RETURN(runner->gpu_sampler_, GpuSampler::Create(options.max_num_tokens, runner->config_.vocab_size));
  }
  SPECD_RETURN_IF_ERROR(runner->AllocateKvCache(options));
  return runner;
}

CudaRunner::CudaRunner(ModelConfig config, CudaWeights weights, const CudaRunnerOptions& options)
    : config_(std::move(config)),
      weights_(std::move(weights)),
      max_num_tokens_(options.max_num_tokens),
      batch_invariant_(options.batch_invariant),
      shape_{0, options.block_size},
      cuda_graphs_(options.cuda_graphs),
      fused_decode_layers_(options.fused_decode_layers && options.fast_small_gemms && !options.batch_invariant &&
                           !config_.o_proj_bias && !config_.mlp_bias),
      graph_buckets_(GraphBuckets(options)),
      max_blocks_per_seq_(Blocks(config_.max_position_embeddings, options.block_size)) {}

CudaRunner::~CudaRunner() {
  if (stream_ == nullptr) return;
  cudaStreamSynchronize(stream_);  // steps still in flight read buffers freed after this
  cudaStreamDestroy(stream_);
}

Status CudaRunner::AllocateWorkspace() {
  const int64_t t = max_num_tokens_, hidden = config_.hidden_size;
  const int64_t qkv = config_.q_size() + 2 * config_.kv_size(), inter = config_.intermediate_size;
  SPECD_RETURN_IF_ERROR(residual_.Allocate(t * hidden, "the residual stream"));
  SPECD_RETURN_IF_ERROR(normed_.Allocate(t * hidden, "normed activations"));
  SPECD_RETURN_IF_ERROR(branch_out_.Allocate(t * hidden, "projection outputs"));
  SPECD_RETURN_IF_ERROR(qkv_.Allocate(t * qkv, "q/k/v"));
  SPECD_RETURN_IF_ERROR(attention_.Allocate(t * config_.q_size(), "attention output"));
  // Split-KV makes a token's attention depend on the batch in the last bits, so the
  // batch-invariant mode goes without (no workspace: no split).
  if (!batch_invariant_) {
    SPECD_RETURN_IF_ERROR(attention_workspace_.Allocate(
        kernels::PagedAttentionWorkspaceBytes(static_cast<int>(t), static_cast<int>(config_.num_attention_heads),
                                              static_cast<int>(config_.head_dim),
                                              static_cast<int>(config_.max_position_embeddings)),
        "the attention workspace"));
  }
  SPECD_RETURN_IF_ERROR(gate_up_.Allocate(t * 2 * inter, "gate/up"));
  SPECD_RETURN_IF_ERROR(activation_.Allocate(t * inter, "the MLP activation"));
  SPECD_RETURN_IF_ERROR(logit_inputs_.Allocate(t * hidden, "logit inputs"));
  SPECD_RETURN_IF_ERROR(logits_.Allocate(t * config_.vocab_size, "logits"));
  const RopeTable rope(config_.rope, config_.head_dim);
  SPECD_RETURN_IF_ERROR(inv_freq_.Allocate(rope.inv_freq().size(), "RoPE frequencies"));
  return CudaStatus(cudaMemcpy(inv_freq_.get(), rope.inv_freq().data(), inv_freq_.bytes(), cudaMemcpyHostToDevice),
                    "copying RoPE frequencies");
}

// Sized from what the GPU has left after weights and workspace, unless the options fix it.
int64_t CudaRunner::KvCacheBytesPerBlock(const ModelConfig& config, int64_t block_size) {
  return 2 * config.num_hidden_layers * block_size * config.kv_size() * static_cast<int64_t>(sizeof(__nv_bfloat16));
}

Status CudaRunner::AllocateKvCache(const CudaRunnerOptions& options) {
  const int64_t bytes_per_block = KvCacheBytesPerBlock(config_, options.block_size);
  int64_t blocks = options.num_blocks;
  size_t free_bytes = 0, total_bytes = 0;
  SPECD_RETURN_IF_ERROR(CudaStatus(cudaMemGetInfo(&free_bytes, &total_bytes), "reading GPU memory"));
  if (blocks == 0) {
    const double budget = options.gpu_memory_utilization * static_cast<double>(total_bytes) -
                          static_cast<double>(total_bytes - free_bytes);
    blocks = static_cast<int64_t>(budget / static_cast<double>(bytes_per_block + options.reserved_bytes_per_block));
    if (blocks <= 0) {
      return ResourceExhaustedError("no GPU memory left for the KV cache at gpu_memory_utilization " +
                                    std::to_string(options.gpu_memory_utilization));
    }
  }
  SPECD_RETURN_IF_ERROR(kv_cache_.Allocate(static_cast<size_t>(blocks * bytes_per_block / 2), "the KV cache"));
  shape_.num_blocks = blocks;
  GetLogger("runner")->info(
      "CUDA runner: {} ({} layers): weights {:.1f} MiB, KV cache {} blocks of {} tokens ({:.1f} MiB), "
      "activations for {} tokens; GPU memory {:.0f} of {:.0f} MiB free before the KV cache",
      ArchitectureName(config_.architecture), config_.num_hidden_layers, weights_.bytes() / kMiB, blocks,
      options.block_size, kv_cache_.bytes() / kMiB, max_num_tokens_, free_bytes / kMiB, total_bytes / kMiB);
  return OkStatus();
}

// residual += branch; normed = rmsnorm(residual) * weight. A null branch normalizes the residual
// stream as it stands (the embeddings, before the first layer).
Status CudaRunner::RunNorm(const __nv_bfloat16* branch, const DeviceBuffer<__nv_bfloat16>& weight, int64_t tokens) {
  kernels::RmsNormParams p;
  p.input = branch != nullptr ? branch : residual_.get();
  p.residual = branch != nullptr ? residual_.get() : nullptr;
  p.weight = weight.get();
  p.output = normed_.get();
  p.num_tokens = static_cast<int>(tokens);
  p.hidden_size = static_cast<int>(config_.hidden_size);
  p.eps = static_cast<float>(config_.rms_norm_eps);
  return CudaStatus(kernels::LaunchRmsNorm(p, stream_), "rms norm");
}

// Attention for each run of the step's tokens: prompt chunks on tensor cores, decode and verify
// tokens on the split-KV kernel.
Status CudaRunner::RunAttention(const __nv_bfloat16* k_cache, const __nv_bfloat16* v_cache) {
  const int64_t qkv_width = config_.q_size() + 2 * config_.kv_size();
  for (const StepInputs::AttentionRun& run : inputs_->attention_runs()) {
    kernels::PagedAttentionParams attn;
    attn.q = qkv_.get() + run.first * qkv_width;
    attn.q_stride = static_cast<int>(qkv_width);
    attn.k_cache = k_cache;
    attn.v_cache = v_cache;
    attn.block_tables = inputs_->block_tables();
    attn.max_blocks_per_seq = static_cast<int>(inputs_->shape().table_stride);
    attn.token_seq = inputs_->token_seq() + run.first;
    attn.positions = inputs_->positions() + run.first;
    attn.out = attention_.get() + run.first * config_.q_size();
    attn.num_tokens = static_cast<int>(run.count);
    attn.num_heads = static_cast<int>(config_.num_attention_heads);
    attn.num_kv_heads = static_cast<int>(config_.num_key_value_heads);
    attn.head_dim = static_cast<int>(config_.head_dim);
    attn.block_size = static_cast<int>(shape_.block_size);
    attn.scale = 1.0f / std::sqrt(static_cast<float>(config_.head_dim));
    attn.modifier = ModelAttentionModifier(config_);
    attn.workspace = attention_workspace_.get();
    attn.workspace_bytes = attention_workspace_.bytes();
    const cudaError_t error = run.tensor_cores ? kernels::LaunchPagedAttentionMma(attn, stream_)
                                               : kernels::LaunchPagedAttention(attn, stream_);
    SPECD_RETURN_IF_ERROR(CudaStatus(error, run.tensor_cores ? "paged attention (tensor cores)" : "paged attention"));
  }
  return OkStatus();
}

// RoPE and the cache write of the step's qkv_ rows, into `layer`'s cache.
kernels::RopeCacheWriteParams CudaRunner::RopeParams(int64_t layer, int64_t t) const {
  const CudaLayerWeights& w = weights_.layers[static_cast<size_t>(layer)];
  const int64_t cache_elements = shape_.num_blocks * shape_.block_size * config_.kv_size();
  kernels::RopeCacheWriteParams rope;
  rope.qkv = qkv_.get();
  rope.qkv_bias = w.qkv_bias.size() > 0 ? w.qkv_bias.get() : nullptr;
  rope.positions = inputs_->positions();
  rope.slots = inputs_->slots();
  rope.inv_freq = inv_freq_.get();
  rope.k_cache = kv_cache_.get() + (2 * layer) * cache_elements;
  rope.v_cache = rope.k_cache + cache_elements;
  rope.num_tokens = static_cast<int>(t);
  rope.num_heads = static_cast<int>(config_.num_attention_heads);
  rope.num_kv_heads = static_cast<int>(config_.num_key_value_heads);
  rope.head_dim = static_cast<int>(config_.head_dim);
  return rope;
}

Status CudaRunner::RunRopeAndAttention(int64_t layer, int64_t t) {
  const kernels::RopeCacheWriteParams rope = RopeParams(layer, t);
  SPECD_RETURN_IF_ERROR(CudaStatus(kernels::LaunchRopeCacheWrite(rope, stream_), "rope + cache write"));
  return RunAttention(rope.k_cache, rope.v_cache);
}

Status CudaRunner::RunLayer(int64_t layer, int64_t t) {
  const CudaLayerWeights& w = weights_.layers[static_cast<size_t>(layer)];
  const int64_t hidden = config_.hidden_size, q = config_.q_size();
  const int64_t qkv = q + 2 * config_.kv_size(), inter = config_.intermediate_size;
  SPECD_RETURN_IF_ERROR(gemm_->Run(normed_.get(), w.qkv.get(), qkv_.get(), nullptr, t, hidden, qkv, stream_));
  SPECD_RETURN_IF_ERROR(RunRopeAndAttention(layer, t));

  const auto add_bias = [&](__nv_bfloat16* x, const DeviceBuffer<__nv_bfloat16>& bias, int64_t width) {
    if (bias.size() == 0) return OkStatus();
    kernels::AddBiasParams p{x, bias.get(), static_cast<int>(t), static_cast<int>(width)};
    return CudaStatus(kernels::LaunchAddBias(p, stream_), "bias");
  };
  SPECD_RETURN_IF_ERROR(gemm_->Run(attention_.get(), w.o_proj.get(), branch_out_.get(), nullptr, t, q, hidden, stream_));
  SPECD_RETURN_IF_ERROR(add_bias(branch_out_.get(), w.o_bias, hidden));
  SPECD_RETURN_IF_ERROR(RunNorm(branch_out_.get(), w.post_attention_norm, t));

  SPECD_RETURN_IF_ERROR(gemm_->Run(normed_.get(), w.gate_up.get(), gate_up_.get(), nullptr, t, hidden, 2 * inter, stream_));
  SPECD_RETURN_IF_ERROR(add_bias(gate_up_.get(), w.gate_up_bias, 2 * inter));
  kernels::SiluMulParams silu{gate_up_.get(), activation_.get(), static_cast<int>(t), static_cast<int>(inter)};
  SPECD_RETURN_IF_ERROR(CudaStatus(kernels::LaunchSiluMul(silu, stream_), "silu and mul"));
  SPECD_RETURN_IF_ERROR(gemm_->Run(activation_.get(), w.down_proj.get(), branch_out_.get(), nullptr, t, inter, hidden, stream_));
  SPECD_RETURN_IF_ERROR(add_bias(branch_out_.get(), w.down_bias, hidden));
  // The next layer's input norm, or the final one.
  const bool last = layer + 1 == config_.num_hidden_layers;
  return RunNorm(branch_out_.get(), last ? weights_.final_norm : weights_.layers[static_cast<size_t>(layer) + 1].input_norm, t);
}

Status CudaRunner::RunSkinny(const kernels::SkinnyGemmParams& params, const char* what) {
  return CudaStatus(kernels::LaunchSkinnyGemm(params, stream_), what);
}

// The product of the residual stream's norm: a step of one token normalizes inside the product
// (the one-row kernel stages its input in shared memory anyway); wider steps run the norm kernel
// first, as re-normalizing in every CTA of the tensor-core kernel costs more than the launch it
// saves (Llama-3.1-8B shape, verify of 5 tokens on an H100: 7.37 ms a step against 6.35).
Status CudaRunner::RunNormedProduct(const DeviceBuffer<__nv_bfloat16>& norm_weight, kernels::SkinnyGemmParams product,
                                    const char* what) {
  if (product.rows == 1) {
    product.x = residual_.get();
    product.norm_weight = norm_weight.get();
    product.norm_eps = static_cast<float>(config_.rms_norm_eps);
  } else {
    SPECD_RETURN_IF_ERROR(RunNorm(nullptr, norm_weight, product.rows));
    product.x = normed_.get();
  }
  return RunSkinny(product, what);
}

// `layer`'s qkv product into qkv_ (x and the norm: RunNormedProduct). A step of one token also
// takes RoPE and the cache write in its epilogue.
kernels::SkinnyGemmParams CudaRunner::QkvProduct(int64_t layer, int64_t t) const {
  const int qkv = static_cast<int>(config_.q_size() + 2 * config_.kv_size());
  kernels::SkinnyGemmParams product{nullptr, weights_.layers[static_cast<size_t>(layer)].qkv.get(), qkv_.get(), nullptr,
                                    static_cast<int>(t), static_cast<int>(config_.hidden_size), qkv};
  if (t == 1) {
    product.epilogue = kernels::SkinnyEpilogue::kRopeCacheWrite;
    product.rope = RopeParams(layer, t);
  }
  return product;
}

// The residual stream stays in residual_: o_proj and down_proj add their outputs into it.
Status CudaRunner::RunFusedLayer(int64_t layer, int64_t t) {
  const CudaLayerWeights& w = weights_.layers[static_cast<size_t>(layer)];
  const int rows = static_cast<int>(t), hidden = static_cast<int>(config_.hidden_size);
  const int q = static_cast<int>(config_.q_size()), inter = static_cast<int>(config_.intermediate_size);
  using kernels::SkinnyEpilogue;
  const kernels::SkinnyGemmParams qkv_product = QkvProduct(layer, t);
  if (qkv_product.epilogue == SkinnyEpilogue::kRopeCacheWrite) {
    SPECD_RETURN_IF_ERROR(RunNormedProduct(w.input_norm, qkv_product, "input norm + qkv + rope + cache write"));
    SPECD_RETURN_IF_ERROR(RunAttention(qkv_product.rope.k_cache, qkv_product.rope.v_cache));
  } else {
    SPECD_RETURN_IF_ERROR(RunNormedProduct(w.input_norm, qkv_product, "input norm + qkv"));
    SPECD_RETURN_IF_ERROR(RunRopeAndAttention(layer, t));
  }
  kernels::SkinnyGemmParams o_proj{attention_.get(), w.o_proj.get(), residual_.get(), nullptr, rows, q, hidden};
  o_proj.epilogue = SkinnyEpilogue::kAddToOutput;
  o_proj.feeds_product = true;  // gate/up next
  SPECD_RETURN_IF_ERROR(RunSkinny(o_proj, "o_proj + residual"));
  kernels::SkinnyGemmParams gate_up{nullptr, w.gate_up.get(), activation_.get(), nullptr, rows, hidden, 2 * inter};
  gate_up.epilogue = SkinnyEpilogue::kSiluMul;
  SPECD_RETURN_IF_ERROR(RunNormedProduct(w.post_attention_norm, gate_up, "post-attention norm + gate/up + SiLU"));
  kernels::SkinnyGemmParams down{activation_.get(), w.down_proj.get(), residual_.get(), nullptr, rows, inter, hidden};
  down.epilogue = SkinnyEpilogue::kAddToOutput;
  down.feeds_product = layer + 1 < config_.num_hidden_layers;  // the next layer's qkv next
  return RunSkinny(down, "down_proj + residual");
}

// Fused layers where the option allows them and the skinny kernel takes the fused products.
bool CudaRunner::FusesLayers(int64_t tokens) const {
  if (!fused_decode_layers_ || tokens > kernels::kSkinnyGemmMaxRows) return false;
  const CudaLayerWeights& w = weights_.layers.front();
  const int rows = static_cast<int>(tokens), hidden = static_cast<int>(config_.hidden_size);
  kernels::SkinnyGemmParams probe = QkvProduct(0, tokens);
  probe.x = residual_.get();
  probe.norm_weight = rows == 1 ? w.input_norm.get() : nullptr;
  const kernels::SkinnyGemmParams down{activation_.get(), w.down_proj.get(), residual_.get(), nullptr, rows,
                                       static_cast<int>(config_.intermediate_size), hidden, nullptr, 0.0f,
                                       kernels::SkinnyEpilogue::kAddToOutput};
  return kernels::SkinnyGemmSupports(probe) && kernels::SkinnyGemmSupports(down);
}

// The step's logits rows (the first num_rows of logits_) to output rows `rows` (the whole batch's
// numbering); waits for the stream when they go to the host or when told to.
Status CudaRunner::CopyLogits(const std::vector<int64_t>& rows, bool logits_to_host, bool wait, ModelOutput& output) {
  const int64_t count = logits_to_host ? inputs_->num_rows() : 0, vocab = config_.vocab_size;
  // Rows of one piece are consecutive unless a sequence was cut with logits wanted on both sides.
  const bool consecutive = count == 0 || rows.back() - rows.front() + 1 == count;
  std::vector<float> scattered(consecutive ? 0 : static_cast<size_t>(count * vocab));
  if (count > 0) {
    float* host = consecutive ? output.logits.data() + rows.front() * vocab : scattered.data();
    SPECD_RETURN_IF_ERROR(CudaStatus(cudaMemcpyAsync(host, logits_.get(), static_cast<size_t>(count * vocab) * sizeof(float),
                                                     cudaMemcpyDeviceToHost, stream_), "copying logits"));
  }
  if (count == 0 && !wait) return OkStatus();
  // Also the end of the step's upload: the next Pack may reuse the pinned inputs.
  SPECD_RETURN_IF_ERROR(CudaStatus(cudaStreamSynchronize(stream_), "the step"));
  for (size_t r = 0; r < scattered.size() / static_cast<size_t>(vocab); ++r) {
    std::copy_n(scattered.begin() + static_cast<std::ptrdiff_t>(r) * vocab, vocab,
                output.logits.begin() + rows[r] * vocab);
  }
  return OkStatus();
}

// Pieces of at most max_num_tokens_ tokens, in order. A sequence may be cut between pieces: its
// earlier tokens are in the KV cache by the time the later piece runs, as in chunked prefill.
std::vector<CudaRunner::Piece> CudaRunner::SplitBatch(const SchedulerOutput& batch) const {
  std::vector<Piece> pieces(1);
  int64_t piece_tokens = 0, first_row = 0;
  for (const ScheduledSequence& seq : batch.sequences) {
    for (size_t offset = 0; offset < seq.token_ids.size();) {
      if (piece_tokens == max_num_tokens_) {
        pieces.emplace_back();
        piece_tokens = 0;
      }
      const size_t n = std::min(seq.token_ids.size() - offset, static_cast<size_t>(max_num_tokens_ - piece_tokens));
      ScheduledSequence part;
      part.token_ids = seq.token_ids.subspan(offset, n);
      part.start_position = seq.start_position + static_cast<int64_t>(offset);
      part.block_table = seq.block_table;
      part.fed_from_sequence = seq.fed_from_sequence;  // a fed sequence has one token: never cut
      for (size_t k = 0; k < seq.logits_indices.size(); ++k) {
        const auto index = static_cast<size_t>(seq.logits_indices[k]);
        if (index < offset || index >= offset + n) continue;
        part.logits_indices.push_back(static_cast<int32_t>(index - offset));
        pieces.back().rows.push_back(first_row + static_cast<int64_t>(k));
      }
      pieces.back().batch.sequences.push_back(std::move(part));
      piece_tokens += static_cast<int64_t>(n);
      offset += n;
    }
    first_row += static_cast<int64_t>(seq.logits_indices.size());
  }
  return pieces;
}

// Decode and verify steps: the smallest token bucket that holds the batch and the block-table
// stride rounded up to a power of two (at most max_blocks_per_seq_: a few shapes cover all
// context lengths, and the split-KV plan, which assumes the stride's key range, stays close to
// the batch's). nullopt: the step runs eagerly in its exact shape.
std::optional<StepInputs::Shape> CudaRunner::GraphShape(const SchedulerOutput& batch,
                                                        const StepInputs::Shape& exact) const {
  for (const ScheduledSequence& seq : batch.sequences) {
    if (static_cast<int64_t>(seq.token_ids.size()) >= kTensorCoreQueryTokens) return std::nullopt;
  }
  const auto bucket = std::lower_bound(graph_buckets_.begin(), graph_buckets_.end(), exact.capacity);
  if (bucket == graph_buckets_.end()) return std::nullopt;
  const auto stride = std::min(std::bit_ceil(static_cast<uint64_t>(std::max<int64_t>(exact.table_stride, 1))),
                               static_cast<uint64_t>(max_blocks_per_seq_));
  return StepInputs::Shape{*bucket, static_cast<int64_t>(stride)};
}

Status CudaRunner::EnqueueForward(int64_t logit_rows) {
  const int64_t tokens = inputs_->shape().capacity;
  // The embeddings start the residual stream.
  kernels::EmbeddingParams embed{inputs_->token_ids(), weights_.embedding.get(), residual_.get(),
                                 static_cast<int>(tokens), static_cast<int>(config_.hidden_size)};
  if (gpu_sampler_ != nullptr) {  // tokens fed from the previous step's sampling on the device
    embed.fed_rows = inputs_->fed_rows();
    embed.fed_tokens = gpu_sampler_->sampled_tokens();
    embed.vocab = static_cast<int>(config_.vocab_size);
  }
  SPECD_RETURN_IF_ERROR(CudaStatus(kernels::LaunchEmbedding(embed, stream_), "embedding"));
  if (FusesLayers(tokens)) {
    for (int64_t layer = 0; layer < config_.num_hidden_layers; ++layer) SPECD_RETURN_IF_ERROR(RunFusedLayer(layer, tokens));
    SPECD_RETURN_IF_ERROR(RunNorm(nullptr, weights_.final_norm, tokens));
  } else {
    SPECD_RETURN_IF_ERROR(RunNorm(nullptr, weights_.layers[0].input_norm, tokens));
    for (int64_t layer = 0; layer < config_.num_hidden_layers; ++layer) SPECD_RETURN_IF_ERROR(RunLayer(layer, tokens));
  }
  if (logit_rows == 0) return OkStatus();
  // A one-token step's logits row is its only token: nothing to gather. H100, same call, four
  // rounds: Llama-3.2-1B 1.086-1.100 ms a token (mean 1.090) against 1.094-1.100 (1.097) with the
  // gather; Llama-3.1-8B 5.476-5.502 (5.484) against 5.475-5.501 (5.491).
  const __nv_bfloat16* logit_inputs = normed_.get();  // [logit_rows, hidden]
  if (tokens > 1) {
    kernels::GatherRowsParams gather{normed_.get(), inputs_->logit_rows(), logit_inputs_.get(),
                                     static_cast<int>(logit_rows), static_cast<int>(config_.hidden_size)};
    SPECD_RETURN_IF_ERROR(CudaStatus(kernels::LaunchGatherRows(gather, stream_), "gathering logit rows"));
    logit_inputs = logit_inputs_.get();
  }
  return gemm_->Run(logit_inputs, weights_.output_projection(), nullptr, logits_.get(), logit_rows,
                    config_.hidden_size, config_.vocab_size, stream_);
}

// A padded decode / verify step: every row of the bucket gets logits (padding rows too), so the
// work depends on the shape only. The first step of a shape runs eagerly (cuBLASLt's timed
// candidates and the kernels' first-use set-up happen there, outside any capture) and is then
// captured for the next ones. A failed capture costs the speed of that shape, not the step: its
// eager run already produced the outputs.
Status CudaRunner::RunGraphShaped(int64_t logit_rows) {
  const CudaGraphCache::Key key{inputs_->shape().capacity, inputs_->shape().table_stride};
  if (!cuda_graphs_ || graphs_.Failed(key)) return EnqueueForward(logit_rows);
  if (graphs_.Has(key)) return graphs_.Launch(key, stream_);
  SPECD_RETURN_IF_ERROR(EnqueueForward(logit_rows));
  const Status captured = graphs_.Capture(key, stream_, [this, logit_rows] { return EnqueueForward(logit_rows); });
  if (!captured.ok()) {
    GetLogger("runner")->error("CUDA runner: {}; steps of {} tokens with tables of {} run eagerly",
                               captured.ToString(), key.first, key.second);
    graphs_.MarkFailed(key);
  }
  return OkStatus();
}

// One forward pass over at most max_num_tokens_ tokens; logits to `rows` of `output` when
// logits_to_host.
Status CudaRunner::Forward(const Piece& piece, std::span<const int32_t> fed_rows, bool logits_to_host, bool wait,
                           ModelOutput& output) {
  const StepInputs::Shape exact = StepInputs::ExactShape(piece.batch);
  if (exact.table_stride > max_blocks_per_seq_) {
    return InvalidArgumentError("the batch's block tables have " + std::to_string(exact.table_stride) +
                                " entries per sequence; the CUDA runner was sized for " +
                                std::to_string(max_blocks_per_seq_));
  }
  if (exact.capacity == 0) return OkStatus();
  const std::optional<StepInputs::Shape> graph_shape = GraphShape(piece.batch, exact);
  // Prompt chunks go to the tensor-core kernel, except in batch-invariant mode: there a token's
  // attention must not depend on how many tokens its sequence brought to the step.
  inputs_->Pack(piece.batch, shape_.block_size, graph_shape.value_or(exact), batch_invariant_ ? 0 : kTensorCoreQueryTokens,
                fed_rows);
  SPECD_RETURN_IF_ERROR(inputs_->Upload(stream_));
  if (graph_shape.has_value()) {
    SPECD_RETURN_IF_ERROR(RunGraphShaped(graph_shape->capacity));
  } else {
    SPECD_RETURN_IF_ERROR(EnqueueForward(inputs_->num_rows()));
  }
  return CopyLogits(piece.rows, logits_to_host, wait, output);
}

Status CudaRunner::Launch(const SchedulerOutput& batch) {
  SPECD_RETURN_IF_ERROR(CheckRoomForLaunch(launched_.size()));
  const FeedSource source = std::move(feed_source_);
  feed_source_ = {};  // a step that fails leaves nothing to feed from
  SPECD_RETURN_IF_ERROR(ValidateBatch(batch, config_, shape_));
  StatusOr<LaunchedStep> step = [&]() -> StatusOr<LaunchedStep> {
    if (!HasFedSequences(batch)) return LaunchStep(batch, {});
    if (!source.device_rows.empty()) {
      SPECD_RETURN_IF_ERROR(CheckDeviceFeeds(batch, source.device_rows));
      return LaunchStep(batch, source.device_rows);
    }
    SPECD_ASSIGN_OR_RETURN(const HostFedBatch fed, HostFedBatch::Resolve(batch, source.host));
    return LaunchStep(fed.batch(), {});
  }();
  if (!step.ok()) {
    cudaStreamSynchronize(stream_);  // whatever failed, nothing of it may still read the pinned inputs
    return step.status();
  }
  if (step->sampling) {
    feed_source_.device_rows = step->sampling->token_rows;
  } else {
    feed_source_.host = step->output->sampled;
  }
  launched_.push_back(std::move(*step));
  return OkStatus();
}

// Batches larger than the runner was sized for (a draft model catching up on many sequences)
// run in pieces; sampling sees the whole batch's logits. A step whose every logits row is sampled
// on the GPU returns with its sampling in flight; the others run to their end here.
StatusOr<CudaRunner::LaunchedStep> CudaRunner::LaunchStep(const SchedulerOutput& batch,
                                                           std::span<const int32_t> fed_rows) {
  ModelOutput output;
  output.vocab_size = config_.vocab_size;
  const std::vector<Piece> pieces = SplitBatch(batch);
  // On the device, logits_ holds the last piece's rows: all of them when there is one piece.
  const bool gpu_sampling = gpu_sampler_ != nullptr && pieces.size() == 1 && GpuSampler::Supports(batch);
  // Logits go to the host unless every row is sampled on the GPU (the engine's target steps).
  bool logits_to_host = !gpu_sampling;
  int64_t rows = 0;
  for (const ScheduledSequence& seq : batch.sequences) {
    rows += static_cast<int64_t>(seq.logits_indices.size());
    if (!seq.logits_indices.empty() && !seq.sampling.has_value()) logits_to_host = true;
  }
  if (logits_to_host) output.logits.resize(static_cast<size_t>(rows * config_.vocab_size));
  if (step_timer_) SPECD_RETURN_IF_ERROR(step_timer_->MarkStart(stream_));
  // A step sampled on the GPU (one piece) queues its sampling right behind the forward pass: the
  // sampler's copy back waits for both. H100, same call, four rounds: Llama-3.2-1B batch 1 1.091-1.097 ms a
  // token against 1.092-1.111 waiting for the forward pass first; batch 2 / 4 / 8 1.160 / 1.177 /
  // 1.231 against 1.172 / 1.191 / 1.251; 8B 5.505 against 5.518.
  for (const Piece& piece : pieces) {
    SPECD_RETURN_IF_ERROR(Forward(piece, fed_rows, logits_to_host, !gpu_sampling, output));
  }
  // The step timer's end goes behind the last GPU work, before the host waits for it.
  const auto mark_end = [this] { return step_timer_ ? step_timer_->MarkEnd(stream_) : OkStatus(); };
  LaunchedStep step;
  if (!gpu_sampling) {
    SampleRequestedRows(batch, output);
    SPECD_RETURN_IF_ERROR(mark_end());
    step.output = std::move(output);
    return step;
  }
  SPECD_ASSIGN_OR_RETURN(GpuSampler::Launched sampling, gpu_sampler_->Launch(batch, logits_.get(), stream_));
  if (logits_to_host) {  // the logits are on the host already: the step ends here
    SPECD_RETURN_IF_ERROR(gpu_sampler_->Collect(sampling, output));
    step.output = std::move(output);
  } else {
    step.sampling = std::move(sampling);
  }
  // Last: a step that marked its end is one Collect resolves.
  SPECD_RETURN_IF_ERROR(mark_end());
  return step;
}

StatusOr<ModelOutput> CudaRunner::Collect() {
  if (launched_.empty()) return NothingToCollect();
  LaunchedStep step = std::move(launched_.front());
  launched_.pop_front();
  // Every launched step marked its end: resolve it first, whatever its sampling says.
  if (step_timer_) SPECD_RETURN_IF_ERROR(step_timer_->Resolve());
  if (!step.sampling) return std::move(*step.output);
  ModelOutput output;
  output.vocab_size = config_.vocab_size;
  SPECD_RETURN_IF_ERROR(gpu_sampler_->Collect(*step.sampling, output));
  return output;
}

}  // namespace specd
