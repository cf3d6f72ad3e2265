// IncrementalDetokenizer (see incremental_detokenizer.h).
#include "engine/tokenizer/incremental_detokenizer.h"

#include <vector>

#include "engine/tokenizer/utf8.h"

namespace specd {

IncrementalDetokenizer::IncrementalDetokenizer(const Tokenizer& tokenizer, bool skip_special_tokens,
                                               bool continues_prompt)
    : tokenizer_(tokenizer),
      skip_special_tokens_(skip_special_tokens),
      next_is_first_(!continues_prompt) {}

StatusOr<std::string> IncrementalDetokenizer::Append(std::span<const int32_t> ids) {
  // Resolve every id first, so that a bad id leaves the stream untouched.
  std::string bytes;
  bool is_first = next_is_first_;
  for (const int32_t id : ids) {
    if (skip_special_tokens_ && tokenizer_.IsSpecialToken(id)) continue;
    SPECD_ASSIGN_OR_RETURN(const std::string token_bytes, tokenizer_.TokenBytes(id, is_first));
    bytes += token_bytes;
    is_first = false;
  }
  next_is_first_ = is_first;
  pending_ += bytes;
  size_t consumed = 0;
  std::string text = utf8::DecodeLossyPrefix(pending_, consumed);
  pending_.erase(0, consumed);
  return text;
}

std::string IncrementalDetokenizer::Finish() {
  std::string text = utf8::DecodeLossy(pending_);
  pending_.clear();
  return text;
}

}  // namespace specd
