#include "engine/runner/batch_validation.h"

#include <string>

#include "engine/kv/freed_block.h"

namespace specd {
namespace {

Status ValidateSequence(const ScheduledSequence& seq, const ModelConfig& config,
                        const KvCacheShape& cache) {
  const int64_t num_tokens = static_cast<int64_t>(seq.token_ids.size());
  if (num_tokens == 0) return InvalidArgumentError("no tokens to compute");
  if (seq.start_position < 0) return InvalidArgumentError("negative start position");
  const int64_t end_position = seq.start_position + num_tokens;
  if (end_position > config.max_position_embeddings) {
    return InvalidArgumentError("positions up to " + std::to_string(end_position) +
                                " exceed the context length " +
                                std::to_string(config.max_position_embeddings));
  }
  for (int32_t token : seq.token_ids) {
    if (token < 0 || token >= config.vocab_size) {
      return InvalidArgumentError("token id " + std::to_string(token) +
                                  " is outside the vocabulary of " +
                                  std::to_string(config.vocab_size));
    }
  }
  const int64_t blocks_needed = (end_position + cache.block_size - 1) / cache.block_size;
  if (static_cast<int64_t>(seq.block_table.size()) < blocks_needed) {
    return InvalidArgumentError("block table has " + std::to_string(seq.block_table.size()) +
                                " blocks but positions up to " + std::to_string(end_position) +
                                " need " + std::to_string(blocks_needed));
  }
  // Entries a sliding window freed (KvCacheManager::FreeOutsideWindow) may hold kFreedBlock:
  // blocks wholly before the first key the first new token sees, which attention never reads.
  const int64_t first_visible =
      config.sliding_window ? seq.start_position - *config.sliding_window + 1 : 0;
  for (size_t i = 0; i < seq.block_table.size(); ++i) {
    const int32_t block = seq.block_table[i];
    const bool outside_window = static_cast<int64_t>(i + 1) * cache.block_size <= first_visible;
    if (block == kFreedBlock && outside_window) continue;
    if (block < 0 || block >= cache.num_blocks) {
      return InvalidArgumentError("block id " + std::to_string(block) + " is outside the cache of " +
                                  std::to_string(cache.num_blocks) + " blocks");
    }
  }
  for (int32_t index : seq.logits_indices) {
    if (index < 0 || index >= num_tokens) {
      return InvalidArgumentError("logits index " + std::to_string(index) + " is outside the " +
                                  std::to_string(num_tokens) + " new tokens");
    }
  }
  return OkStatus();
}

}  // namespace

Status ValidateBatch(const SchedulerOutput& batch, const ModelConfig& config,
                     const KvCacheShape& cache) {
  for (size_t i = 0; i < batch.sequences.size(); ++i) {
    SPECD_RETURN_IF_ERROR(ValidateSequence(batch.sequences[i], config, cache)
                              .WithContext("sequence " + std::to_string(i)));
  }
  return OkStatus();
}

}  // namespace specd
