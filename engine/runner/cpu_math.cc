#include "engine/runner/cpu_math.h"

#include <cmath>

namespace specd::cpu_math {

float Dot(const float* a, const float* b, int64_t n) {
  constexpr int64_t kLanes = 8;
  float lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int64_t lane = 0; lane < kLanes; ++lane) lanes[lane] += a[i + lane] * b[i + lane];
  }
  for (; i < n; ++i) lanes[0] += a[i] * b[i];
  float sum = 0.0f;
  for (float lane : lanes) sum += lane;
  return sum;
}

void Linear(const float* x, int64_t rows, int64_t in, const std::vector<float>& w, int64_t out,
            const std::vector<float>& bias, float* result) {
  // Output-feature outer loop: each weight row is read once and reused across all tokens.
  for (int64_t o = 0; o < out; ++o) {
    const float* w_row = w.data() + o * in;
    const float b = bias.empty() ? 0.0f : bias[static_cast<size_t>(o)];
    for (int64_t t = 0; t < rows; ++t) result[t * out + o] = Dot(x + t * in, w_row, in) + b;
  }
}

void RmsNorm(const float* x, const std::vector<float>& weight, double eps, int64_t n, float* out) {
  double sum_squares = 0.0;
  for (int64_t i = 0; i < n; ++i) sum_squares += static_cast<double>(x[i]) * x[i];
  const float inv_rms = static_cast<float>(1.0 / std::sqrt(sum_squares / static_cast<double>(n) + eps));
  for (int64_t i = 0; i < n; ++i) out[i] = weight[static_cast<size_t>(i)] * (x[i] * inv_rms);
}

void SiluAndMul(float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

}  // namespace specd::cpu_math
