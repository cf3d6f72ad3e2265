// Decoder: turns token strings back into text (tokenizers' decoders, decode_chain semantics).
// Supported types: ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip and Sequence;
// anything else is refused at load.
//
// Decoders run in two modes. Whole-text mode is tokenizers' decode. Streaming mode decodes one
// token at a time for the incremental detokenizer: byte-producing decoders (ByteLevel,
// ByteFallback) keep raw bytes instead of converting them to valid UTF-8 (the caller does that
// once the bytes of a character are complete), and rules that depend on a token's position
// (Metaspace's first token, Strip after Fuse) use DecodeState::starts_sequence.
//
// Immutable after load; DecodeChain is thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "engine/tokenizer/json_view.h"

namespace specd {

struct DecodeState {
  // Streaming mode: keep raw bytes, which may be ill-formed UTF-8.
  bool raw_bytes = false;
  // tokens[0] is the first token of the decoded text.
  bool starts_sequence = true;
  // An earlier decoder joined the tokens into one string (Fuse, ByteLevel).
  bool fused = false;
};

class Decoder {
 public:
  virtual ~Decoder() = default;

  // Transforms the token strings in place, as tokenizers' decode_chain does. Fails only if a
  // regex gives up (match limits).
  virtual Status DecodeChain(std::vector<std::string>& tokens, DecodeState& state) const = 0;

  // Builds the decoder described by `config` (a tokenizer.json "decoder" value); null gives
  // nullptr (tokens are joined with spaces).
  static StatusOr<std::unique_ptr<Decoder>> FromJson(const JsonView& config);
};

}  // namespace specd
