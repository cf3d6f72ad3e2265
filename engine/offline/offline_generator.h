// Greedy generation for one prompt, straight over a ModelRunner: what `specd generate` runs.
// It keeps one sequence in blocks 0, 1, 2, ... of the runner's cache, prefills the prompt in one
// step and decodes one token per step until an eos id, max_tokens or the context length.
// Single-threaded; the runner must not be shared while Generate runs.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"
#include "engine/model/model_config.h"
#include "engine/runner/model_runner.h"
#include "engine/tokenizer/tokenizer.h"

namespace specd {

struct GenerationResult {
  std::vector<int32_t> prompt_token_ids;
  std::vector<int32_t> token_ids;  // generated, including a final eos id if one was produced
  std::string text;                // the detokenized continuation
  std::string finish_reason;       // "stop" (eos), "length" (max_tokens or context length)
};

class OfflineGenerator {
 public:
  // The runner's cache must hold at least ceil(context / block_size) blocks for the longest
  // generation asked of it (see BlocksNeeded).
  OfflineGenerator(ModelRunner& runner, const ModelConfig& config, const Tokenizer& tokenizer);

  // Blocks a generation of `prompt_tokens` + `max_tokens` needs (capped at the context length).
  static int64_t BlocksNeeded(int64_t prompt_tokens, int64_t max_tokens, int64_t block_size,
                              const ModelConfig& config);

  // INVALID_ARGUMENT for an empty prompt, max_tokens < 1 or a prompt that fills the context.
  // `on_text` receives each piece of continuation text as it completes (never a broken UTF-8
  // sequence); it may be empty.
  StatusOr<GenerationResult> Generate(const std::vector<int32_t>& prompt_token_ids,
                                      int64_t max_tokens,
                                      const std::function<void(std::string_view)>& on_text);

 private:
  bool IsEos(int32_t token) const;

  ModelRunner& runner_;
  const ModelConfig& config_;
  const Tokenizer& tokenizer_;
};

// Index of the largest logit (the first one on ties). logits: [vocab_size]
int32_t Argmax(const float* logits, int64_t vocab_size);

}  // namespace specd
