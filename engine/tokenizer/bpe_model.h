// BpeModel: the byte-pair-encoding model of tokenizer.json ("model": {"type": "BPE"}),
// reproducing tokenizers' BPE::tokenize: characters are looked up in the vocabulary (unknown
// ones become byte-fallback tokens <0xAB>, or the unk token, fused when fuse_unk), then merges
// are applied lowest rank first, leftmost first among equal ranks (tokenizers' Word::merge_all).
// With ignore_merges, a piece found whole in the vocabulary is emitted directly.
//
// Refused at load: dropout other than 0, a non-empty continuing_subword_prefix or
// end_of_word_suffix.
// Immutable after load; all methods are thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/base/status.h"
#include "engine/tokenizer/json_view.h"

namespace specd {

// Hash and equality that let std::string-keyed maps be queried with string_view.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};
using TokenIdMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

class BpeModel {
 public:
  // `config` is the tokenizer.json "model" object.
  static StatusOr<BpeModel> FromJson(const JsonView& config);

  // Appends the ids of `piece` (a pre-tokenized piece) to `ids`. Fails only when an unknown
  // character needs the unk token and that token is not in the vocabulary.
  Status Tokenize(std::string_view piece, std::vector<int32_t>& ids) const;

  std::optional<int32_t> TokenToId(std::string_view token) const;
  // The token spelled by `id`, or nullptr when no vocabulary entry has that id.
  const std::string* IdToToken(int32_t id) const;
  // The largest id in the vocabulary, -1 when it is empty.
  int32_t max_id() const { return max_id_; }

 private:
  struct MergeTarget {
    uint32_t rank;
    int32_t new_id;
  };
  struct Symbol {
    int32_t id;
    int32_t prev;        // index of the previous live symbol, -1 at the start
    int32_t next;        // index of the next live symbol, -1 at the end
    size_t byte_length;  // 0 once merged into its left neighbour
  };

  BpeModel() = default;
  Status LoadVocab(const JsonView& config);
  Status LoadMerges(const JsonView& config);
  Status LoadOptions(const JsonView& config);

  // The initial symbols of `piece`: one per character, byte-fallback or unk tokens.
  StatusOr<std::vector<Symbol>> InitialSymbols(std::string_view piece) const;
  void MergeAll(std::vector<Symbol>& symbols) const;
  const MergeTarget* FindMerge(int32_t left, int32_t right) const;

  TokenIdMap vocab_;
  std::unordered_map<int32_t, std::string> vocab_r_;
  std::unordered_map<uint64_t, MergeTarget> merges_;  // key: left id << 32 | right id
  std::optional<std::string> unk_token_;
  std::array<std::optional<int32_t>, 256> byte_token_ids_{};  // "<0xAB>" ids (byte_fallback)
  bool fuse_unk_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
  int32_t max_id_ = -1;
};

}  // namespace specd
