#include "engine/runner/cpu_paged_attention.h"

#include <cmath>
#include <vector>

#include "engine/base/check.h"
#include "engine/runner/cpu_math.h"

namespace specd {
namespace {

// Slot row of `position`: [num_kv_heads, head_dim].
int64_t SlotOffset(const CpuAttentionShape& shape, const CpuSequenceKv& kv, int64_t position) {
  const int64_t block = kv.block_table[static_cast<size_t>(position / shape.block_size)];
  return (block * shape.block_size + position % shape.block_size) * shape.num_kv_heads * shape.head_dim;
}

template <typename Modifier>
void Attend(const Modifier& modifier, const CpuAttentionShape& shape, const CpuSequenceKv& kv, int64_t position,
            const float* query, float* out) {
  const int64_t group = shape.num_heads / shape.num_kv_heads;
  const int pos = static_cast<int>(position);
  const kernels::KeyInterval keys = modifier.Keys(kv.seq, pos);
  std::vector<float> scores(static_cast<size_t>(kv.num_keys));  // -inf where masked
  for (int64_t head = 0; head < shape.num_heads; ++head) {
    const int64_t kv_offset = (head / group) * shape.head_dim;
    const float* q = query + head * shape.head_dim;
    const float head_factor = modifier.HeadFactor(static_cast<int>(head));
    float max_score = -INFINITY;
    for (int64_t j = 0; j < kv.num_keys; ++j) {
      float& score = scores[static_cast<size_t>(j)];
      score = -INFINITY;
      if (!kernels::KeyVisible(keys, static_cast<int>(j))) continue;
      const float* key = kv.keys + SlotOffset(shape, kv, j) + kv_offset;
      score = modifier.Score(cpu_math::Dot(q, key, shape.head_dim) * shape.scale, pos, static_cast<int>(j), head_factor);
      max_score = std::max(max_score, score);
    }
    float* o = out + head * shape.head_dim;
    std::fill_n(o, shape.head_dim, 0.0f);
    float denominator = 0.0f;
    for (int64_t j = 0; j < kv.num_keys; ++j) {
      const float p = std::exp(scores[static_cast<size_t>(j)] - max_score);  // 0 where masked
      if (p == 0.0f) continue;
      denominator += p;
      const float* value = kv.values + SlotOffset(shape, kv, j) + kv_offset;
      for (int64_t d = 0; d < shape.head_dim; ++d) o[d] += p * value[d];
    }
    for (int64_t d = 0; d < shape.head_dim; ++d) o[d] /= denominator;
  }
}

}  // namespace

void CpuPagedAttention(const kernels::AttentionModifier& modifier, const CpuAttentionShape& shape,
                       const CpuSequenceKv& kv, int64_t position, const float* query, float* out) {
  SPECD_CHECK(kernels::ValidAttentionModifier(modifier))
      << "malformed attention modifier (kind " << static_cast<int>(modifier.kind) << ")";
  SPECD_CHECK(position >= 0 && position < kv.num_keys) << "query position " << position << " of " << kv.num_keys << " keys";
  kernels::DispatchAttentionModifier(
      modifier, static_cast<int>(shape.num_heads),
      [&](const auto& functor) { Attend(functor, shape, kv, position, query, out); },
      [&] { SPECD_CHECK(false) << "unknown attention modifier " << static_cast<int>(modifier.kind); });
}

}  // namespace specd
