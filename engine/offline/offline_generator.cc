#include "engine/offline/offline_generator.h"

#include <algorithm>
#include <numeric>

#include "engine/tokenizer/incremental_detokenizer.h"

namespace specd {

int32_t Argmax(const float* logits, int64_t vocab_size) {
  return static_cast<int32_t>(std::max_element(logits, logits + vocab_size) - logits);
}

OfflineGenerator::OfflineGenerator(ModelRunner& runner, const ModelConfig& config,
                                   const Tokenizer& tokenizer)
    : runner_(runner), config_(config), tokenizer_(tokenizer) {}

int64_t OfflineGenerator::BlocksNeeded(int64_t prompt_tokens, int64_t max_tokens,
                                       int64_t block_size, const ModelConfig& config) {
  const int64_t positions = std::min(prompt_tokens + max_tokens, config.max_position_embeddings);
  return std::max<int64_t>(1, (positions + block_size - 1) / block_size);
}

bool OfflineGenerator::IsEos(int32_t token) const {
  return std::find(config_.eos_token_ids.begin(), config_.eos_token_ids.end(), token) !=
         config_.eos_token_ids.end();
}

StatusOr<GenerationResult> OfflineGenerator::Generate(
    const std::vector<int32_t>& prompt_token_ids, int64_t max_tokens,
    const std::function<void(std::string_view)>& on_text) {
  const int64_t prompt_length = static_cast<int64_t>(prompt_token_ids.size());
  if (prompt_length == 0) return InvalidArgumentError("the prompt is empty");
  if (max_tokens < 1) return InvalidArgumentError("max tokens must be at least 1");
  if (prompt_length >= config_.max_position_embeddings) {
    return InvalidArgumentError("the prompt has " + std::to_string(prompt_length) +
                                " tokens; the context length is " +
                                std::to_string(config_.max_position_embeddings));
  }
  const KvCacheShape cache = runner_.kv_cache_shape();
  std::vector<int32_t> block_table(
      static_cast<size_t>(BlocksNeeded(prompt_length, max_tokens, cache.block_size, config_)));
  std::iota(block_table.begin(), block_table.end(), 0);
  std::vector<int32_t> pending = prompt_token_ids;  // tokens whose KV is not in the cache yet
  ScheduledSequence seq;
  seq.token_ids = pending;
  seq.block_table = block_table;

  GenerationResult result;
  result.prompt_token_ids = prompt_token_ids;
  result.finish_reason = "length";
  IncrementalDetokenizer detokenizer(tokenizer_, /*skip_special_tokens=*/true,
                                     /*continues_prompt=*/true);
  while (static_cast<int64_t>(result.token_ids.size()) < max_tokens &&
         seq.start_position + static_cast<int64_t>(seq.token_ids.size()) < config_.max_position_embeddings) {
    seq.logits_indices = {static_cast<int32_t>(seq.token_ids.size()) - 1};
    SPECD_ASSIGN_OR_RETURN(const ModelOutput output, runner_.Execute(SchedulerOutput{{seq}}));
    const int32_t token = Argmax(output.row(0), output.vocab_size);
    result.token_ids.push_back(token);
    seq.start_position += static_cast<int64_t>(seq.token_ids.size());
    pending = {token};
    seq.token_ids = pending;
    if (IsEos(token)) {
      result.finish_reason = "stop";
      break;
    }
    SPECD_ASSIGN_OR_RETURN(const std::string piece, detokenizer.Append(std::span(&token, 1)));
    result.text += piece;
    if (on_text && !piece.empty()) on_text(piece);
  }
  const std::string rest = detokenizer.Finish();
  result.text += rest;
  if (on_text && !rest.empty()) on_text(rest);
  return result;
}

}  // namespace specd
