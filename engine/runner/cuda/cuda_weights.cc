#include "engine/runner/cuda/cuda_weights.h"

#include <cstring>

#include "kernels/random_fill.h"

namespace specd {
namespace {

using Bf16Bits = std::vector<uint16_t>;

// The tensor as bf16 bits (bf16 copied, fp16 and fp32 rounded to nearest even).
Bf16Bits ToBf16(const TensorView& tensor) {
  Bf16Bits bits(static_cast<size_t>(tensor.num_elements()));
  if (tensor.dtype == DType::kBF16) {
    std::memcpy(bits.data(), tensor.data.data(), tensor.data.size());
    return bits;
  }
  std::vector<float> values(bits.size());
  ConvertToFloat(tensor.dtype, tensor.data, values);
  for (size_t i = 0; i < values.size(); ++i) bits[i] = FloatToBF16(values[i]);
  return bits;
}

// Rows of several tensors stacked into one matrix (fused projections).
Bf16Bits Concat(const ModelWeights& weights, const std::vector<std::string>& names) {
  Bf16Bits all;
  for (const auto& name : names) {
    const Bf16Bits part = ToBf16(weights.Get(name));
    all.insert(all.end(), part.begin(), part.end());
  }
  return all;
}

Status Upload(const Bf16Bits& bits, const std::string& what, DeviceBuffer<__nv_bfloat16>& buffer) {
  SPECD_RETURN_IF_ERROR(buffer.Allocate(bits.size(), what));
  return CudaStatus(cudaMemcpy(buffer.get(), bits.data(), bits.size() * sizeof(uint16_t), cudaMemcpyHostToDevice),
                    "copying " + what + " to the GPU");
}

Status UploadLayer(const ModelConfig& config, const ModelWeights& weights, int64_t layer, CudaLayerWeights& out) {
  const LayerWeightNames n = LayerNames(layer);
  SPECD_RETURN_IF_ERROR(Upload(ToBf16(weights.Get(n.input_norm)), n.input_norm, out.input_norm));
  SPECD_RETURN_IF_ERROR(Upload(Concat(weights, {n.q_proj, n.k_proj, n.v_proj}), n.q_proj + " (fused qkv)", out.qkv));
  if (config.qkv_bias) {
    SPECD_RETURN_IF_ERROR(Upload(Concat(weights, {n.q_bias, n.k_bias, n.v_bias}), n.q_bias + " (fused)", out.qkv_bias));
  }
  SPECD_RETURN_IF_ERROR(Upload(ToBf16(weights.Get(n.o_proj)), n.o_proj, out.o_proj));
  if (config.o_proj_bias) SPECD_RETURN_IF_ERROR(Upload(ToBf16(weights.Get(n.o_bias)), n.o_bias, out.o_bias));
  SPECD_RETURN_IF_ERROR(Upload(ToBf16(weights.Get(n.post_attention_norm)), n.post_attention_norm, out.post_attention_norm));
  SPECD_RETURN_IF_ERROR(Upload(Concat(weights, {n.gate_proj, n.up_proj}), n.gate_proj + " (fused gate/up)", out.gate_up));
  SPECD_RETURN_IF_ERROR(Upload(ToBf16(weights.Get(n.down_proj)), n.down_proj, out.down_proj));
  if (config.mlp_bias) {
    SPECD_RETURN_IF_ERROR(Upload(Concat(weights, {n.gate_bias, n.up_bias}), n.gate_bias + " (fused)", out.gate_up_bias));
    SPECD_RETURN_IF_ERROR(Upload(ToBf16(weights.Get(n.down_bias)), n.down_bias, out.down_bias));
  }
  return OkStatus();
}

// Fills buffers with random values, a fresh seed per buffer.
class RandomFiller {
 public:
  explicit RandomFiller(uint64_t seed) : seed_(seed) {}

  Status Matrix(DeviceBuffer<__nv_bfloat16>& buffer, int64_t count, const std::string& what) {
    return Fill(buffer, count, what, 0.0f, 0.02f);
  }
  Status Norm(DeviceBuffer<__nv_bfloat16>& buffer, int64_t count, const std::string& what) {
    return Fill(buffer, count, what, 1.0f, 0.1f);
  }

 private:
  Status Fill(DeviceBuffer<__nv_bfloat16>& buffer, int64_t count, const std::string& what, float offset, float scale) {
    SPECD_RETURN_IF_ERROR(buffer.Allocate(static_cast<size_t>(count), what));
    const kernels::RandomFillParams params{buffer.get(), count, seed_++, offset, scale};
    return CudaStatus(kernels::LaunchRandomFill(params, nullptr), "filling " + what);
  }

  uint64_t seed_;
};

Status RandomLayer(const ModelConfig& config, RandomFiller& random, CudaLayerWeights& out) {
  const int64_t hidden = config.hidden_size, inter = config.intermediate_size;
  const int64_t qkv = config.q_size() + 2 * config.kv_size();
  SPECD_RETURN_IF_ERROR(random.Norm(out.input_norm, hidden, "input norm"));
  SPECD_RETURN_IF_ERROR(random.Matrix(out.qkv, qkv * hidden, "qkv"));
  if (config.qkv_bias) SPECD_RETURN_IF_ERROR(random.Matrix(out.qkv_bias, qkv, "qkv bias"));
  SPECD_RETURN_IF_ERROR(random.Matrix(out.o_proj, hidden * config.q_size(), "o_proj"));
  if (config.o_proj_bias) SPECD_RETURN_IF_ERROR(random.Matrix(out.o_bias, hidden, "o_proj bias"));
  SPECD_RETURN_IF_ERROR(random.Norm(out.post_attention_norm, hidden, "post-attention norm"));
  SPECD_RETURN_IF_ERROR(random.Matrix(out.gate_up, 2 * inter * hidden, "gate/up"));
  SPECD_RETURN_IF_ERROR(random.Matrix(out.down_proj, hidden * inter, "down_proj"));
  if (config.mlp_bias) {
    SPECD_RETURN_IF_ERROR(random.Matrix(out.gate_up_bias, 2 * inter, "gate/up bias"));
    SPECD_RETURN_IF_ERROR(random.Matrix(out.down_bias, hidden, "down_proj bias"));
  }
  return OkStatus();
}

}  // namespace

size_t CudaWeights::bytes() const {
  size_t total = embedding.bytes() + final_norm.bytes() + lm_head.bytes();
  for (const auto& l : layers) {
    total += l.input_norm.bytes() + l.qkv.bytes() + l.qkv_bias.bytes() + l.o_proj.bytes() + l.o_bias.bytes() +
             l.post_attention_norm.bytes() + l.gate_up.bytes() + l.gate_up_bias.bytes() + l.down_proj.bytes() +
             l.down_bias.bytes();
  }
  return total;
}

StatusOr<CudaWeights> UploadWeights(const ModelConfig& config, const ModelWeights& weights) {
  CudaWeights out;
  SPECD_RETURN_IF_ERROR(Upload(ToBf16(weights.Get(kEmbeddingName)), kEmbeddingName, out.embedding));
  out.layers.resize(static_cast<size_t>(config.num_hidden_layers));
  for (int64_t layer = 0; layer < config.num_hidden_layers; ++layer) {
    SPECD_RETURN_IF_ERROR(UploadLayer(config, weights, layer, out.layers[static_cast<size_t>(layer)]));
  }
  SPECD_RETURN_IF_ERROR(Upload(ToBf16(weights.Get(kFinalNormName)), kFinalNormName, out.final_norm));
  if (!config.tie_word_embeddings) {
    SPECD_RETURN_IF_ERROR(Upload(ToBf16(weights.Get(kLmHeadName)), kLmHeadName, out.lm_head));
  }
  return out;
}

StatusOr<CudaWeights> RandomWeights(const ModelConfig& config, uint64_t seed) {
  CudaWeights out;
  RandomFiller random(seed);
  SPECD_RETURN_IF_ERROR(random.Matrix(out.embedding, config.vocab_size * config.hidden_size, "embedding"));
  out.layers.resize(static_cast<size_t>(config.num_hidden_layers));
  for (auto& layer : out.layers) SPECD_RETURN_IF_ERROR(RandomLayer(config, random, layer));
  SPECD_RETURN_IF_ERROR(random.Norm(out.final_norm, config.hidden_size, "final norm"));
  if (!config.tie_word_embeddings) {
    SPECD_RETURN_IF_ERROR(random.Matrix(out.lm_head, config.vocab_size * config.hidden_size, "lm_head"));
  }
  SPECD_RETURN_IF_ERROR(CudaStatus(cudaDeviceSynchronize(), "making random weights"));
  return out;
}

}  // namespace specd
