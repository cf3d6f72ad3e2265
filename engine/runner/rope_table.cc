#include "engine/runner/rope_table.h"

#include <cmath>
#include <numbers>

namespace specd {
namespace {

// transformers' _compute_llama3_parameters: long wavelengths are divided by `factor`, short ones
// kept, and the band between them interpolated smoothly.
double Llama3Scale(double inv_freq, const RopeConfig& rope) {
  const double old_context = static_cast<double>(rope.original_max_position_embeddings);
  const double low_freq_wavelen = old_context / rope.low_freq_factor;
  const double high_freq_wavelen = old_context / rope.high_freq_factor;
  const double wavelen = 2.0 * std::numbers::pi / inv_freq;
  if (wavelen < high_freq_wavelen) return inv_freq;
  if (wavelen > low_freq_wavelen) return inv_freq / rope.factor;
  const double smooth = (old_context / wavelen - rope.low_freq_factor) /
                        (rope.high_freq_factor - rope.low_freq_factor);
  return (1.0 - smooth) * inv_freq / rope.factor + smooth * inv_freq;
}

std::vector<float> ComputeInvFreq(const RopeConfig& rope, int64_t head_dim) {
  std::vector<float> inv_freq(static_cast<size_t>(head_dim / 2));
  for (int64_t i = 0; i < head_dim / 2; ++i) {
    // fp32 exponent and power, as torch computes base ** (arange(0, dim, 2).float() / dim).
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(head_dim);
    const float base_power = std::pow(static_cast<float>(rope.theta), exponent);
    double value = 1.0 / static_cast<double>(base_power);
    if (rope.type == RopeType::kLinear) value /= rope.factor;
    if (rope.type == RopeType::kLlama3) value = Llama3Scale(value, rope);
    inv_freq[static_cast<size_t>(i)] = static_cast<float>(value);
  }
  return inv_freq;
}

}  // namespace

RopeTable::RopeTable(const RopeConfig& rope, int64_t head_dim)
    : head_dim_(head_dim), inv_freq_(ComputeInvFreq(rope, head_dim)) {}

void RopeTable::Apply(float* heads, int64_t num_heads, int64_t position) const {
  const int64_t half = head_dim_ / 2;
  for (int64_t i = 0; i < half; ++i) {
    const float angle = static_cast<float>(position) * inv_freq_[static_cast<size_t>(i)];
    const float cos_a = static_cast<float>(std::cos(static_cast<double>(angle)));
    const float sin_a = static_cast<float>(std::sin(static_cast<double>(angle)));
    for (int64_t h = 0; h < num_heads; ++h) {
      float* x = heads + h * head_dim_;
      const float first = x[i];
      const float second = x[i + half];
      x[i] = first * cos_a - second * sin_a;
      x[i + half] = second * cos_a + first * sin_a;
    }
  }
}

}  // namespace specd
