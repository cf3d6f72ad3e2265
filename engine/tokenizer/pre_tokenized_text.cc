// PreTokenizedText (see pre_tokenized_text.h).
#include "engine/tokenizer/pre_tokenized_text.h"

namespace specd {

Status PreTokenizedText::Split(const SplitFn& split_fn) {
  return SplitWithTokens([&](const NormalizedText& text) -> StatusOr<std::vector<TextSplit>> {
    SPECD_ASSIGN_OR_RETURN(std::vector<NormalizedText> pieces, split_fn(text));
    std::vector<TextSplit> splits;
    splits.reserve(pieces.size());
    for (NormalizedText& piece : pieces) splits.push_back({std::move(piece), std::nullopt});
    return splits;
  });
}

Status PreTokenizedText::SplitWithTokens(
    const std::function<StatusOr<std::vector<TextSplit>>(const NormalizedText&)>& split_fn) {
  std::vector<TextSplit> result;
  result.reserve(splits_.size());
  for (TextSplit& split : splits_) {
    if (split.token_id) {
      result.push_back(std::move(split));
      continue;
    }
    SPECD_ASSIGN_OR_RETURN(std::vector<TextSplit> pieces, split_fn(split.text));
    for (TextSplit& piece : pieces) {
      if (!piece.text.empty()) result.push_back(std::move(piece));
    }
  }
  splits_ = std::move(result);
  return OkStatus();
}

void PreTokenizedText::Transform(const std::function<void(NormalizedText&)>& transform) {
  for (TextSplit& split : splits_) {
    if (!split.token_id) transform(split.text);
  }
}

}  // namespace specd
