// IncrementalDetokenizer: turns a stream of generated token ids into text pieces that are always
// valid UTF-8, for streaming responses. Each token's raw bytes come from
// Tokenizer::TokenBytes; a multi-byte character split across tokens (emoji, CJK through byte
// fallback or byte-level BPE) is held back until its last byte arrives, and bytes that can never
// form a character become U+FFFD (one per maximal ill-formed subpart, like
// String::from_utf8_lossy).
//
// The concatenation of everything Append and Finish return equals Tokenizer::Decode of all the
// ids, except where Decode itself works on the whole text: a Strip decoder's trailing `stop`
// after Fuse is not applied, and ByteFallback's one-U+FFFD-per-byte for ill-formed groups reads
// as lossy UTF-8 here.
//
// One per stream; not thread-safe. The Tokenizer must outlive it.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "engine/base/status.h"
#include "engine/tokenizer/tokenizer.h"

namespace specd {

class IncrementalDetokenizer {
 public:
  // `continues_prompt`: true when the ids follow a prompt (generated tokens), so that the first
  // token's leading space is kept as vLLM does; false when decoding from the start of a text.
  IncrementalDetokenizer(const Tokenizer& tokenizer, bool skip_special_tokens,
                         bool continues_prompt);

  // Appends token ids and returns the newly completed text: never a broken UTF-8 sequence.
  // INVALID_ARGUMENT (and no state change) when an id is outside the vocabulary.
  StatusOr<std::string> Append(std::span<const int32_t> ids);

  // Flushes anything held back (an incomplete sequence becomes U+FFFD).
  std::string Finish();

 private:
  const Tokenizer& tokenizer_;
  bool skip_special_tokens_;
  bool next_is_first_;   // the next decoded token starts the text
  std::string pending_;  // bytes of an incomplete character at the end of the stream
};

}  // namespace specd
