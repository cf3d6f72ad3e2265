// PostProcessor: the last step of encoding, which adds the special tokens a model expects
// around a sequence (tokenizers' processors). Supported types: TemplateProcessing (single
// sequence template), ByteLevel (offsets only: no change to ids) and Sequence; anything else is
// refused at load.
//
// Immutable after load; Process is thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/base/status.h"
#include "engine/tokenizer/json_view.h"

namespace specd {

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;

  // Rewrites the ids of one encoded sequence. Like tokenizers, the template is applied even
  // when `add_special_tokens` is false, with its special tokens left out.
  virtual void Process(std::vector<int32_t>& ids, bool add_special_tokens) const = 0;

  // Builds the processor described by `config` (a tokenizer.json "post_processor" value);
  // null gives nullptr (ids unchanged).
  static StatusOr<std::unique_ptr<PostProcessor>> FromJson(const JsonView& config);
};

}  // namespace specd
