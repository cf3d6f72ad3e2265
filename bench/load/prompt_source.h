// PromptSource: makes a prompt of a given number of token ids, the same ids for the same random
// generator state. Two kinds:
//   RandomTokens  ids drawn uniformly from the vocabulary, never an eos id (which would end a
//                 prompt's meaning early in some models; it is harmless but wasteful)
//   Corpus        a prefix (the tokenizer's special tokens, e.g. <bos>) and then the corpus's
//                 tokens from the start of a randomly chosen document onward, running into the
//                 next documents (and around to the first) when one is too short:
//
//     corpus:   [doc 0 ......][doc 1 ....][doc 2 .........]
//     length 9, document 1 drawn, prefix [B]:  B + doc 1 (4 ids) + first 4 ids of doc 2
//
// Immutable after construction; Make may be called from any thread with its own generator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "bench/load/seeded_rng.h"

namespace specd::bench {

class PromptSource {
 public:
  // Precondition: vocab_size > the number of distinct excluded ids.
  static PromptSource RandomTokens(int32_t vocab_size, std::vector<int32_t> excluded_ids);
  // Precondition: at least one document has a token.
  static PromptSource Corpus(std::vector<int32_t> prefix, const std::vector<std::vector<int32_t>>& documents);

  // `length` ids (the prefix alone, cut to `length`, when it is that long). Precondition: length >= 1.
  std::vector<int32_t> Make(int64_t length, SeededRng& rng) const;

 private:
  std::vector<int32_t> MakeRandom(int64_t length, SeededRng& rng) const;
  std::vector<int32_t> MakeFromCorpus(int64_t length, SeededRng& rng) const;

  bool random_ = true;
  int32_t vocab_size_ = 0;
  std::vector<int32_t> excluded_ids_;   // sorted
  std::vector<int32_t> prefix_;
  std::vector<int32_t> corpus_;         // every document's ids, concatenated
  std::vector<size_t> document_starts_; // offsets into corpus_ of non-empty documents
};

}  // namespace specd::bench
