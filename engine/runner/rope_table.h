// Rotary position embedding as Hugging Face's Llama computes it (rotate_half layout: element i
// pairs with i + head_dim/2), with linear and llama3 frequency scaling.
//
// Numerics follow transformers in fp32: inverse frequencies rounded to fp32, the angle
// position * inv_freq computed in fp32, its cos/sin rounded from the exact value. That keeps the
// reference within fp32 rounding of transformers at long positions too.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/model/model_config.h"

namespace specd {

class RopeTable {
 public:
  RopeTable(const RopeConfig& rope, int64_t head_dim);

  // Rotates `num_heads` consecutive vectors of head_dim floats in place, for `position`.
  void Apply(float* heads, int64_t num_heads, int64_t position) const;  // heads: [num_heads, head_dim]

  // [head_dim / 2]; the CUDA runner's RoPE kernel uses the same frequencies.
  const std::vector<float>& inv_freq() const { return inv_freq_; }

 private:
  int64_t head_dim_;
  std::vector<float> inv_freq_;  // [head_dim / 2]
};

}  // namespace specd
