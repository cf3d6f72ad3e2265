// PreTokenizedText: the input of one Encode call as a sequence of splits, each either an added
// token already resolved to its id or a NormalizedText still to be cut by the pre-tokenizer and
// tokenized by the model (tokenizers' PreTokenizedString).
//
// Lives for one Encode call; not shared between threads.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "engine/base/status.h"
#include "engine/tokenizer/normalized_text.h"

namespace specd {

struct TextSplit {
  NormalizedText text;
  std::optional<int32_t> token_id;  // set for added tokens; such splits are left alone
};

class PreTokenizedText {
 public:
  using SplitFn = std::function<StatusOr<std::vector<NormalizedText>>(const NormalizedText&)>;

  explicit PreTokenizedText(std::vector<TextSplit> splits) : splits_(std::move(splits)) {}

  // Replaces every split without a token id by the pieces `split_fn` makes of it; empty pieces
  // are dropped.
  Status Split(const SplitFn& split_fn);
  // Like Split, for functions that also resolve added tokens (the added vocabulary).
  Status SplitWithTokens(
      const std::function<StatusOr<std::vector<TextSplit>>(const NormalizedText&)>& split_fn);
  // Changes every split without a token id in place.
  void Transform(const std::function<void(NormalizedText&)>& transform);

  const std::vector<TextSplit>& splits() const { return splits_; }

 private:
  std::vector<TextSplit> splits_;
};

}  // namespace specd
