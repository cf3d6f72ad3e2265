// PreTokenizer: cuts normalized text into the pieces the model tokenizes independently
// (tokenizers' pre_tokenizers). Supported types: ByteLevel, Split, Metaspace, Digits and
// Sequence; anything else is refused at load.
//
// Immutable after load; PreTokenize is thread-safe.
#pragma once

#include <memory>

#include "engine/base/status.h"
#include "engine/tokenizer/json_view.h"
#include "engine/tokenizer/pre_tokenized_text.h"

namespace specd {

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;

  // Splits (and for ByteLevel and Metaspace rewrites) every split without a token id.
  virtual Status PreTokenize(PreTokenizedText& text) const = 0;

  // Builds the pre-tokenizer described by `config` (a tokenizer.json "pre_tokenizer" value);
  // null gives nullptr (the whole text is one piece).
  static StatusOr<std::unique_ptr<PreTokenizer>> FromJson(const JsonView& config);
};

// When Metaspace puts the replacement character in front of a piece that lacks it.
enum class PrependScheme { kAlways, kFirst, kNever };

// Reads a Metaspace config's "prepend_scheme", or the legacy "add_prefix_space" (shared by the
// Metaspace pre-tokenizer and decoder).
StatusOr<PrependScheme> ParsePrependScheme(const JsonView& config);

}  // namespace specd
