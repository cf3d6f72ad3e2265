#include "engine/runner/cpu_kv_cache.h"

#include "engine/base/check.h"

namespace specd {

CpuKvCache::CpuKvCache(int64_t num_layers, KvCacheShape shape, int64_t num_kv_heads,
                       int64_t head_dim)
    : shape_(shape), slot_floats_(num_kv_heads * head_dim) {
  SPECD_CHECK(shape.num_blocks > 0 && shape.block_size > 0);
  const size_t floats_per_layer =
      static_cast<size_t>(shape.num_blocks * shape.block_size * slot_floats_);
  keys_.assign(static_cast<size_t>(num_layers), std::vector<float>(floats_per_layer));
  values_.assign(static_cast<size_t>(num_layers), std::vector<float>(floats_per_layer));
}

}  // namespace specd
