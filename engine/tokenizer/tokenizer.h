// Tokenizer: a Hugging Face tokenizer.json (BPE model) that encodes and decodes exactly like the
// `tokenizers` library. This is the module's entry point; the server tokenizes requests with it
// and detokenizes streams through IncrementalDetokenizer.
//
// Encoding pipeline (tokenizers' encode_single_sequence + post_process):
//   added tokens cut out -> normalizer (per stretch) -> pre-tokenizer -> BPE model per piece
//   -> post-processor (special tokens, when add_special_tokens)
// Decoding: ids -> token strings (added tokens first) -> decoder chain -> text.
//
// Errors: loading fails with INVALID_ARGUMENT (NOT_FOUND for a missing file) whose message names
// the file, the JSON path and the problem; unsupported components are refused, never guessed.
// Encode rejects ill-formed UTF-8 and Decode rejects ids outside the vocabulary.
//
// Thread-safety: immutable after load; every const method may be called concurrently. Never
// call it from the engine thread (tokenizing runs on server threads).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"
#include "engine/tokenizer/added_vocabulary.h"
#include "engine/tokenizer/bpe_model.h"
#include "engine/tokenizer/decoder.h"
#include "engine/tokenizer/normalizer.h"
#include "engine/tokenizer/post_processor.h"
#include "engine/tokenizer/pre_tokenizer.h"

namespace specd {

class Tokenizer {
 public:
  // Loads a tokenizer.json file.
  static StatusOr<std::unique_ptr<Tokenizer>> FromFile(const std::string& path);
  // Loads tokenizer.json content; `source_name` names it in error messages.
  static StatusOr<std::unique_ptr<Tokenizer>> FromJsonString(const std::string& json,
                                                             const std::string& source_name);

  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // The ids of `text` (which must be valid UTF-8). With `add_special_tokens` the
  // post-processor adds its special tokens (e.g. BOS).
  StatusOr<std::vector<int32_t>> Encode(std::string_view text, bool add_special_tokens) const;

  // The text of `ids`; ill-formed byte sequences become U+FFFD as in tokenizers. With
  // `skip_special_tokens`, special added tokens are left out.
  StatusOr<std::string> Decode(std::span<const int32_t> ids, bool skip_special_tokens) const;

  // Max id + 1 over the model vocabulary and the added tokens.
  int32_t vocab_size() const;
  // Added tokens first, then the model vocabulary. Like tokenizers, IdToToken (and Decode)
  // spell a normalized added token the way the normalizer writes it.
  std::optional<int32_t> TokenToId(std::string_view token) const;
  std::optional<std::string> IdToToken(int32_t id) const;
  // Whether `id` is a special added token (what skip_special_tokens leaves out).
  bool IsSpecialToken(int32_t id) const;

  // Raw bytes a token contributes to decoded text (before lossy UTF-8 conversion), for
  // streaming. `first_in_sequence`: whether it is the first decoded token of the whole text
  // (Strip / Metaspace leading-space rules). May be ill-formed UTF-8 on its own (a byte of a
  // multi-byte character). INVALID_ARGUMENT for an id outside the vocabulary.
  StatusOr<std::string> TokenBytes(int32_t id, bool first_in_sequence) const;

 private:
  Tokenizer(std::unique_ptr<Normalizer> normalizer, std::unique_ptr<PreTokenizer> pre_tokenizer,
            BpeModel model, AddedVocabulary added_vocabulary,
            std::unique_ptr<PostProcessor> post_processor, std::unique_ptr<Decoder> decoder);

  static StatusOr<std::unique_ptr<Tokenizer>> Build(const JsonView& root);
  // The token string of `id` as decoding sees it (added tokens first), or nullptr.
  const std::string* FindToken(int32_t id) const;
  // The token string of `id`, or INVALID_ARGUMENT naming the id.
  StatusOr<const std::string*> TokenRef(int32_t id) const;

  std::unique_ptr<Normalizer> normalizer_;       // may be null
  std::unique_ptr<PreTokenizer> pre_tokenizer_;  // may be null
  BpeModel model_;
  AddedVocabulary added_vocabulary_;
  std::unique_ptr<PostProcessor> post_processor_;  // may be null
  std::unique_ptr<Decoder> decoder_;               // may be null
};

}  // namespace specd
