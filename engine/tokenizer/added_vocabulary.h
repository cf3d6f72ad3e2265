// AddedVocabulary: the "added_tokens" of tokenizer.json and the first step of encoding, which
// cuts them out of the text before anything else sees it (tokenizers' AddedVocabulary):
//   1. tokens with normalized=false are matched on the raw text;
//   2. every other stretch is normalized, then tokens with normalized=true are matched on it
//      (against their own normalized spelling).
// Matching is leftmost-longest and non-overlapping; lstrip / rstrip swallow the whitespace
// next to a match, single_word rejects a match touching a word character.
//
// Immutable after load; all methods are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/base/status.h"
#include "engine/tokenizer/bpe_model.h"
#include "engine/tokenizer/json_view.h"
#include "engine/tokenizer/normalizer.h"
#include "engine/tokenizer/pre_tokenized_text.h"

namespace specd {

struct AddedToken {
  int32_t id = 0;
  std::string content;
  // What decoding shows for this token: the normalizer's output for a normalized token (as in
  // tokenizers' normalized_cache), `content` otherwise.
  std::string spelling;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
  bool special = false;
};

class AddedVocabulary {
 public:
  // `config` is the "added_tokens" array (or null). A token whose content the model vocabulary
  // already has gets the model's id, as in tokenizers. `normalizer` (may be null) gives the
  // spelling that normalized tokens are matched against.
  static StatusOr<AddedVocabulary> FromJson(const JsonView& config, const BpeModel& model,
                                            const Normalizer* normalizer);

  // Splits valid UTF-8 `text` into added tokens and normalized stretches of text.
  StatusOr<PreTokenizedText> ExtractAndNormalize(std::string_view text,
                                                 const Normalizer* normalizer) const;

  std::optional<int32_t> TokenToId(std::string_view content) const;
  // The added token with this id, or nullptr.
  const AddedToken* FindById(int32_t id) const;
  // Whether `content` is the content of a special added token.
  bool IsSpecialContent(std::string_view content) const;
  // The largest added token id, -1 when there are none.
  int32_t max_id() const { return max_id_; }

 private:
  // Byte trie over the patterns of one matching pass; finds leftmost-longest matches.
  class Trie {
   public:
    struct Match {
      size_t begin;
      size_t end;
      int32_t token_id;
    };
    void Insert(std::string_view pattern, int32_t token_id);
    // Non-overlapping leftmost-longest matches in `text`.
    std::vector<Match> FindAll(std::string_view text) const;

   private:
    struct Node {
      std::vector<std::pair<uint8_t, int32_t>> children;
      int32_t token_id = -1;  // a pattern ends here
    };
    int32_t Child(int32_t node, uint8_t byte) const;
    std::vector<Node> nodes_{Node()};
  };

  AddedVocabulary() = default;
  Status Add(AddedToken token, const BpeModel& model, const Normalizer* normalizer);
  // Cuts `text` at the matches of `trie`, applying lstrip / rstrip / single_word.
  std::vector<TextSplit> SplitOnMatches(const NormalizedText& text, const Trie& trie) const;

  std::vector<AddedToken> tokens_;
  std::unordered_map<int32_t, size_t> index_by_id_;  // into tokens_
  TokenIdMap id_by_content_;
  std::unordered_set<std::string, StringHash, std::equal_to<>> special_contents_;
  Trie raw_trie_;         // tokens with normalized == false
  Trie normalized_trie_;  // tokens with normalized == true, by normalized spelling
  int32_t max_id_ = -1;
};

}  // namespace specd
