// The CPU runner's paged KV cache in host memory. Owned and used by the engine thread only.
//
// Per layer, keys and values are [num_blocks, block_size, num_kv_heads, head_dim] fp32;
// a slot is block_id * block_size + offset_in_block, and holds one token's K (or V) for all
// KV heads: num_kv_heads * head_dim floats.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/runner/model_runner.h"

namespace specd {

class CpuKvCache {
 public:
  CpuKvCache(int64_t num_layers, KvCacheShape shape, int64_t num_kv_heads, int64_t head_dim);

  const KvCacheShape& shape() const { return shape_; }
  // The slot holding `position` of a sequence with this block table.
  int64_t Slot(std::span<const int32_t> block_table, int64_t position) const {
    return static_cast<int64_t>(block_table[static_cast<size_t>(position / shape_.block_size)]) *
               shape_.block_size + position % shape_.block_size;
  }
  float* Key(int64_t layer, int64_t slot) { return SlotPointer(keys_, layer, slot); }
  float* Value(int64_t layer, int64_t slot) { return SlotPointer(values_, layer, slot); }

 private:
  float* SlotPointer(std::vector<std::vector<float>>& store, int64_t layer, int64_t slot) {
    return store[static_cast<size_t>(layer)].data() + slot * slot_floats_;
  }

  KvCacheShape shape_;
  int64_t slot_floats_;  // num_kv_heads * head_dim
  std::vector<std::vector<float>> keys_;    // [layer][num_blocks * block_size * slot_floats]
  std::vector<std::vector<float>> values_;  // same
};

}  // namespace specd
