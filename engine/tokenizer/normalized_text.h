// NormalizedText: a piece of the text being encoded, as it goes through normalization and
// pre-tokenization, together with where each of its bytes came from in the original input.
//
// This mirrors tokenizers' NormalizedString to the extent that encoding results depend on it:
// the only original-offset question any component asks is "does this piece start at offset 0
// of the input" (Metaspace prepend_scheme "first"), so each byte keeps the original offset of
// the character it came from, with tokenizers' alignment rules (inserted text takes the
// alignment of the text before it; a prefix takes the alignment of the first character).
//
// A value type; not thread-safe to mutate, safe to read concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/unicode_regex.h"

namespace specd {

// What Split does with the matched delimiters (tokenizers' SplitDelimiterBehavior). For "-" in
// "the-final--countdown":
//   Removed            the | final | countdown
//   Isolated           the | - | final | - | - | countdown
//   MergedWithPrevious the- | final- | - | countdown
//   MergedWithNext     the | -final | - | -countdown
//   Contiguous         the | - | final | -- | countdown
enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

class NormalizedText {
 public:
  // A byte range [begin, end) of the current text to replace with `replacement`, whose bytes
  // all get original offset `origin`.
  struct Rewrite {
    size_t begin;
    size_t end;
    std::string replacement;
    size_t origin;
  };

  // `original` (valid UTF-8) found at byte `original_offset` of the whole input.
  NormalizedText(std::string_view original, size_t original_offset);

  const std::string& text() const { return text_; }
  bool empty() const { return text_.empty(); }
  // Offset in the whole input where the slice this piece was cut from starts (tokenizers'
  // offsets_original().0). Transformations do not change it.
  size_t original_start() const { return original_start_; }
  // Original offset of the character that produced byte `pos` of the text.
  size_t OriginAt(size_t pos) const { return origins_[pos]; }

  // The bytes [begin, end) (on character boundaries) as a new piece.
  NormalizedText Slice(size_t begin, size_t end) const;
  // Cuts the text along `spans` (a cover of the text, as UnicodeRegex::FindMatches returns).
  // Empty pieces are kept; callers drop them.
  std::vector<NormalizedText> Split(const std::vector<Span>& spans, SplitBehavior behavior) const;

  // Applies sorted, non-overlapping rewrites; bytes outside them are kept.
  void Apply(const std::vector<Rewrite>& rewrites);
  // Replaces each matched span by `content` (tokenizers' NormalizedString::replace).
  void Replace(const std::vector<Span>& spans, std::string_view content);
  // Replaces each character by what `map` appends for it.
  void MapChars(const std::function<void(char32_t, std::string&)>& map);
  // Adds `prefix` in front of a non-empty text.
  void Prepend(std::string_view prefix);
  // Removes leading and/or trailing White_Space characters.
  void Strip(bool left, bool right);

 private:
  NormalizedText() = default;

  std::string text_;
  std::vector<size_t> origins_;  // [text_.size()] original offset per byte
  size_t original_start_ = 0;
};

// Applies `behavior` to match spans: the ranges to keep, in order (tokenizers' split logic).
std::vector<Span> ApplySplitBehavior(const std::vector<Span>& spans, SplitBehavior behavior);

// Spans for the characters satisfying `predicate`, one match per character (tokenizers'
// Pattern impl for char predicates).
std::vector<Span> CharMatches(std::string_view text,
                              const std::function<bool(char32_t)>& predicate);

// Swaps the is_match flag of every span (tokenizers' Invert pattern).
void InvertMatches(std::vector<Span>& spans);

}  // namespace specd
