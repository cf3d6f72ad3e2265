// SpecConfig: a speculative-decoding preset (spec_configs/*.json), the flat schema of the chapter
// this project grew from. Unknown keys are refused with the key named.
//
// {
//   "method": "draft_model",        "draft_model", "n_gram_lookup" or "none"
//   "draft_model": "models/specd-code-draft",   a model folder (draft_model only)
//   "verifier_model": "models/specd-code-target", optional: must be the served target
//   "chunk_size": 4,                draft tokens per step to start with
//   "max_spec_tokens": 6,           upper bound on the draft length
//   "acceptance_target": 0.6,       a request's running acceptance below this drops its draft
//   "fallback_chunk_size": 2,       length to the fallback; above it the length climbs back by
//                                   one per step toward max_spec_tokens
//   "ngram_min": 1, "ngram_max": 3, the n range (n_gram_lookup only)
//   "max_batch_size": 32            no speculation while more requests than this are running
// }
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/base/status.h"

namespace specd {

enum class SpecMethod { kNone, kDraftModel, kNgramLookup };

struct SpecConfig {
  SpecMethod method = SpecMethod::kNone;
  std::string draft_model;
  std::string verifier_model;
  int32_t chunk_size = 4;
  int32_t max_spec_tokens = 6;
  double acceptance_target = 0.6;
  int32_t fallback_chunk_size = 2;
  int32_t ngram_min = 1;
  int32_t ngram_max = 3;
  int32_t max_batch_size = 32;

  bool enabled() const { return method != SpecMethod::kNone; }
};

// INVALID_ARGUMENT naming the file and key: unknown keys, a missing draft_model for the
// draft_model method, ranges (1 <= fallback_chunk_size <= chunk_size <= max_spec_tokens <= 16,
// acceptance_target in [0, 1], 1 <= ngram_min <= ngram_max <= 16, max_batch_size >= 1).
StatusOr<SpecConfig> ParseSpecConfig(const std::string& json_text, const std::string& source);
StatusOr<SpecConfig> LoadSpecConfig(const std::string& path);

// The token counts of verify steps in which every one of b running requests drafts chunk_size
// tokens: (chunk_size + 1) * b for b = 1, 2, 4, ... up to max_batch_size (the CUDA runner pads
// steps to graph buckets; these make the common verify shapes exact). Empty when disabled.
std::vector<int64_t> FullDraftStepTokens(const SpecConfig& config);

}  // namespace specd
