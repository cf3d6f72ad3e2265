// The CUDA runner's weights: bf16 on the GPU, q/k/v and gate/up fused into one matrix each.
// Matrices keep Hugging Face's [out_features, in_features] row-major layout. Owned by the
// runner; immutable after Upload.
#pragma once

#include <vector>

#include <cuda_bf16.h>

#include "engine/base/status.h"
#include "engine/model/model_config.h"
#include "engine/model/model_weights.h"
#include "engine/runner/cuda/device_buffer.h"

namespace specd {

struct CudaLayerWeights {
  DeviceBuffer<__nv_bfloat16> input_norm;           // [hidden]
  DeviceBuffer<__nv_bfloat16> qkv;                  // [q_size + 2 * kv_size, hidden]
  DeviceBuffer<__nv_bfloat16> qkv_bias;             // [q_size + 2 * kv_size] or empty
  DeviceBuffer<__nv_bfloat16> o_proj;               // [hidden, q_size]
  DeviceBuffer<__nv_bfloat16> o_bias;               // [hidden] or empty
  DeviceBuffer<__nv_bfloat16> post_attention_norm;  // [hidden]
  DeviceBuffer<__nv_bfloat16> gate_up;              // [2 * intermediate, hidden]: gate rows, then up
  DeviceBuffer<__nv_bfloat16> gate_up_bias;         // [2 * intermediate] or empty
  DeviceBuffer<__nv_bfloat16> down_proj;            // [hidden, intermediate]
  DeviceBuffer<__nv_bfloat16> down_bias;            // [hidden] or empty
};

struct CudaWeights {
  DeviceBuffer<__nv_bfloat16> embedding;   // [vocab, hidden]
  std::vector<CudaLayerWeights> layers;
  DeviceBuffer<__nv_bfloat16> final_norm;  // [hidden]
  DeviceBuffer<__nv_bfloat16> lm_head;     // [vocab, hidden]; empty when tied

  const __nv_bfloat16* output_projection() const { return lm_head.size() > 0 ? lm_head.get() : embedding.get(); }
  size_t bytes() const;
};

// Converts every weight to bf16 and copies it to the current device.
StatusOr<CudaWeights> UploadWeights(const ModelConfig& config, const ModelWeights& weights);

// Random weights in the config's shapes, made on the GPU: matrices and biases uniform in
// [-0.02, 0.02), norm weights in [0.9, 1.1). For benchmarks in real model shapes.
StatusOr<CudaWeights> RandomWeights(const ModelConfig& config, uint64_t seed);

}  // namespace specd
