// Normalizer: the first step of encoding, applied to each stretch of text between added tokens
// (tokenizers' normalizers). Supported types: NFC, NFD, NFKC, NFKD, Lowercase, Strip, Replace,
// Prepend and Sequence; anything else is refused at load.
//
// Immutable after load; Normalize is thread-safe.
#pragma once

#include <memory>

#include "engine/base/status.h"
#include "engine/tokenizer/json_view.h"
#include "engine/tokenizer/normalized_text.h"

namespace specd {

class Normalizer {
 public:
  virtual ~Normalizer() = default;

  // Normalizes `text` in place. Fails only if a regex gives up (match limits).
  virtual Status Normalize(NormalizedText& text) const = 0;

  // Builds the normalizer described by `config` (a tokenizer.json "normalizer" value); null
  // gives nullptr (no normalization).
  static StatusOr<std::unique_ptr<Normalizer>> FromJson(const JsonView& config);
};

}  // namespace specd
