// fp32 building blocks of the CPU reference runner. Every reduction runs in a fixed order, so
// one token's result never depends on what else is in the batch.
#pragma once

#include <cstdint>
#include <vector>

namespace specd::cpu_math {

// sum_i a[i] * b[i], accumulated in eight fixed lanes (vectorizable, deterministic).
float Dot(const float* a, const float* b, int64_t n);

// out[t, o] = dot(x[t, :], w[o, :]) (+ bias[o]) for t < rows.
// x: [rows, in], w: [out, in] (Hugging Face's Linear layout), bias: [out] or empty,
// out: [rows, out].
void Linear(const float* x, int64_t rows, int64_t in, const std::vector<float>& w, int64_t out,
            const std::vector<float>& bias, float* result);

// out = x / sqrt(mean(x^2) + eps) * weight, over n elements (transformers' LlamaRMSNorm).
void RmsNorm(const float* x, const std::vector<float>& weight, double eps, int64_t n, float* out);

// gate[i] = silu(gate[i]) * up[i]
void SiluAndMul(float* gate, const float* up, int64_t n);

}  // namespace specd::cpu_math
