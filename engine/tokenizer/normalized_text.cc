// NormalizedText and the split behaviors (see normalized_text.h).
#include "engine/tokenizer/normalized_text.h"

#include <algorithm>

#include "engine/base/check.h"
#include "engine/tokenizer/unicode_chars.h"
#include "engine/tokenizer/utf8.h"

namespace specd {

NormalizedText::NormalizedText(std::string_view original, size_t original_offset)
    : text_(original), origins_(original.size()), original_start_(original_offset) {
  size_t pos = 0;
  while (pos < text_.size()) {
    const size_t length = utf8::DecodeAt(text_, pos).length;
    std::fill_n(origins_.begin() + static_cast<ptrdiff_t>(pos), length, original_offset + pos);
    pos += length;
  }
}

NormalizedText NormalizedText::Slice(size_t begin, size_t end) const {
  SPECD_DCHECK(begin <= end && end <= text_.size()) << begin << ".." << end;
  NormalizedText slice;
  slice.text_ = text_.substr(begin, end - begin);
  slice.origins_.assign(origins_.begin() + static_cast<ptrdiff_t>(begin),
                        origins_.begin() + static_cast<ptrdiff_t>(end));
  slice.original_start_ = begin < end ? origins_[begin] : original_start_ + begin;
  return slice;
}

std::vector<NormalizedText> NormalizedText::Split(const std::vector<Span>& spans,
                                                  SplitBehavior behavior) const {
  std::vector<NormalizedText> pieces;
  for (const Span& span : ApplySplitBehavior(spans, behavior)) {
    pieces.push_back(Slice(span.begin, span.end));
  }
  return pieces;
}

void NormalizedText::Apply(const std::vector<Rewrite>& rewrites) {
  std::string text;
  std::vector<size_t> origins;
  text.reserve(text_.size());
  origins.reserve(text_.size());
  size_t pos = 0;
  const auto keep_until = [&](size_t end) {
    text.append(text_, pos, end - pos);
    origins.insert(origins.end(), origins_.begin() + static_cast<ptrdiff_t>(pos),
                   origins_.begin() + static_cast<ptrdiff_t>(end));
  };
  for (const Rewrite& rewrite : rewrites) {
    SPECD_DCHECK(rewrite.begin >= pos && rewrite.end <= text_.size()) << "unsorted rewrite";
    keep_until(rewrite.begin);
    text += rewrite.replacement;
    origins.insert(origins.end(), rewrite.replacement.size(), rewrite.origin);
    pos = rewrite.end;
  }
  keep_until(text_.size());
  text_ = std::move(text);
  origins_ = std::move(origins);
}

void NormalizedText::Replace(const std::vector<Span>& spans, std::string_view content) {
  std::vector<Rewrite> rewrites;
  for (const Span& span : spans) {
    if (!span.is_match) continue;
    // Inserted text takes the alignment of the byte before it (tokenizers' transform_range).
    const size_t origin = span.end > 0 ? origins_[span.end - 1] : original_start_;
    rewrites.push_back({span.begin, span.end, std::string(content), origin});
  }
  Apply(rewrites);
}

void NormalizedText::MapChars(const std::function<void(char32_t, std::string&)>& map) {
  std::string text;
  std::vector<size_t> origins;
  text.reserve(text_.size());
  origins.reserve(text_.size());
  for (size_t pos = 0; pos < text_.size();) {
    const utf8::DecodedChar c = utf8::DecodeAt(text_, pos);
    const size_t before = text.size();
    map(c.code_point, text);
    origins.insert(origins.end(), text.size() - before, origins_[pos]);
    pos += c.length;
  }
  text_ = std::move(text);
  origins_ = std::move(origins);
}

void NormalizedText::Prepend(std::string_view prefix) {
  if (text_.empty()) return;
  text_.insert(0, prefix);
  origins_.insert(origins_.begin(), prefix.size(), origins_.front());
}

void NormalizedText::Strip(bool left, bool right) {
  size_t begin = 0;
  while (left && begin < text_.size()) {
    const utf8::DecodedChar c = utf8::DecodeAt(text_, begin);
    if (!unicode::IsWhitespace(c.code_point)) break;
    begin += c.length;
  }
  size_t end = text_.size();
  while (right && end > begin) {
    const size_t start = utf8::PreviousCharStart(text_, end);
    if (!unicode::IsWhitespace(utf8::DecodeAt(text_, start).code_point)) break;
    end = start;
  }
  text_ = text_.substr(begin, end - begin);
  origins_.assign(origins_.begin() + static_cast<ptrdiff_t>(begin),
                  origins_.begin() + static_cast<ptrdiff_t>(end));
}

std::vector<Span> ApplySplitBehavior(const std::vector<Span>& spans, SplitBehavior behavior) {
  std::vector<Span> kept;
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::kRemoved:
      for (const Span& span : spans) {
        if (!span.is_match) kept.push_back(span);
      }
      return kept;
    case SplitBehavior::kIsolated:
      return spans;
    case SplitBehavior::kContiguous:
      for (const Span& span : spans) {
        if (span.is_match == previous_match && !kept.empty()) {
          kept.back().end = span.end;
        } else {
          kept.push_back(span);
        }
        previous_match = span.is_match;
      }
      return kept;
    case SplitBehavior::kMergedWithPrevious:
      for (const Span& span : spans) {
        if (span.is_match && !previous_match && !kept.empty()) {
          kept.back().end = span.end;
        } else {
          kept.push_back(span);
        }
        previous_match = span.is_match;
      }
      return kept;
    case SplitBehavior::kMergedWithNext:
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->is_match && !previous_match && !kept.empty()) {
          kept.back().begin = it->begin;
        } else {
          kept.push_back(*it);
        }
        previous_match = it->is_match;
      }
      std::reverse(kept.begin(), kept.end());
      return kept;
  }
  SPECD_CHECK(false) << "unknown split behavior";
  return kept;
}

std::vector<Span> CharMatches(std::string_view text,
                              const std::function<bool(char32_t)>& predicate) {
  if (text.empty()) return {{0, 0, false}};
  std::vector<Span> spans;
  size_t last_offset = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    const utf8::DecodedChar c = utf8::DecodeAt(text, pos);
    if (predicate(c.code_point)) {
      if (last_offset < pos) spans.push_back({last_offset, pos, false});
      spans.push_back({pos, pos + c.length, true});
      last_offset = pos + c.length;
    }
    pos += c.length;
  }
  if (pos > last_offset) spans.push_back({last_offset, pos, false});
  return spans;
}

void InvertMatches(std::vector<Span>& spans) {
  for (Span& span : spans) span.is_match = !span.is_match;
}

}  // namespace specd
