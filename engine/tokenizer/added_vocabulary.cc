// Added tokens: loading and extraction (see added_vocabulary.h).
#include "engine/tokenizer/added_vocabulary.h"

#include "engine/base/logging.h"
#include "engine/tokenizer/unicode_chars.h"
#include "engine/tokenizer/utf8.h"

namespace specd {
namespace {

// The code point of the character ending at byte `end` of valid UTF-8 `text` (end > 0).
char32_t CharBefore(std::string_view text, size_t end) {
  return utf8::DecodeAt(text, utf8::PreviousCharStart(text, end)).code_point;
}

// Start of the run of whitespace that ends at `end` (the regex \s*$ on text[..end]).
size_t WhitespaceRunStart(std::string_view text, size_t end) {
  while (end > 0 && unicode::IsWhitespace(CharBefore(text, end))) {
    end = utf8::PreviousCharStart(text, end);
  }
  return end;
}

// End of the run of whitespace that starts at `begin` (the regex ^\s* on text[begin..]).
size_t WhitespaceRunEnd(std::string_view text, size_t begin) {
  while (begin < text.size()) {
    const utf8::DecodedChar c = utf8::DecodeAt(text, begin);
    if (!unicode::IsWhitespace(c.code_point)) break;
    begin += c.length;
  }
  return begin;
}

StatusOr<AddedToken> ParseToken(const JsonView& entry) {
  AddedToken token;
  SPECD_ASSIGN_OR_RETURN(const int64_t id, entry.Int("id"));
  if (id < 0 || id > INT32_MAX) return entry.Get("id").Error("expected a token id in [0, 2^31)");
  token.id = static_cast<int32_t>(id);
  SPECD_ASSIGN_OR_RETURN(token.content, entry.String("content"));
  SPECD_ASSIGN_OR_RETURN(token.single_word, entry.BoolOr("single_word", false));
  SPECD_ASSIGN_OR_RETURN(token.lstrip, entry.BoolOr("lstrip", false));
  SPECD_ASSIGN_OR_RETURN(token.rstrip, entry.BoolOr("rstrip", false));
  SPECD_ASSIGN_OR_RETURN(token.special, entry.BoolOr("special", false));
  SPECD_ASSIGN_OR_RETURN(token.normalized, entry.BoolOr("normalized", !token.special));
  return token;
}

}  // namespace

void AddedVocabulary::Trie::Insert(std::string_view pattern, int32_t token_id) {
  int32_t node = 0;
  for (const char c : pattern) {
    const auto byte = static_cast<uint8_t>(c);
    int32_t next = Child(node, byte);
    if (next < 0) {
      next = static_cast<int32_t>(nodes_.size());
      nodes_[static_cast<size_t>(node)].children.emplace_back(byte, next);
      nodes_.emplace_back();
    }
    node = next;
  }
  // The first token inserted with a given spelling wins, like aho-corasick's pattern order.
  if (nodes_[static_cast<size_t>(node)].token_id < 0) {
    nodes_[static_cast<size_t>(node)].token_id = token_id;
  }
}

int32_t AddedVocabulary::Trie::Child(int32_t node, uint8_t byte) const {
  for (const auto& [b, child] : nodes_[static_cast<size_t>(node)].children) {
    if (b == byte) return child;
  }
  return -1;
}

std::vector<AddedVocabulary::Trie::Match> AddedVocabulary::Trie::FindAll(
    std::string_view text) const {
  std::vector<Match> matches;
  if (nodes_.front().children.empty()) return matches;
  size_t begin = 0;
  while (begin < text.size()) {
    std::optional<Match> longest;
    int32_t node = 0;
    for (size_t pos = begin; pos < text.size(); ++pos) {
      node = Child(node, static_cast<uint8_t>(text[pos]));
      if (node < 0) break;
      const int32_t token_id = nodes_[static_cast<size_t>(node)].token_id;
      if (token_id >= 0) longest = Match{begin, pos + 1, token_id};
    }
    if (longest) {
      matches.push_back(*longest);
      begin = longest->end;
    } else {
      ++begin;
    }
  }
  return matches;
}

StatusOr<AddedVocabulary> AddedVocabulary::FromJson(const JsonView& config, const BpeModel& model,
                                                    const Normalizer* normalizer) {
  AddedVocabulary vocabulary;
  if (config.IsNull()) return vocabulary;
  SPECD_ASSIGN_OR_RETURN(const std::vector<JsonView> entries, config.Items());
  std::vector<AddedToken> tokens;
  for (const JsonView& entry : entries) {
    SPECD_ASSIGN_OR_RETURN(AddedToken token, ParseToken(entry));
    if (!token.content.empty()) tokens.push_back(std::move(token));
  }
  // Special tokens take part in matching before the others, as in tokenizers.
  for (const bool special : {true, false}) {
    for (const AddedToken& token : tokens) {
      if (token.special == special) {
        SPECD_RETURN_IF_ERROR(vocabulary.Add(token, model, normalizer));
      }
    }
  }
  return vocabulary;
}

Status AddedVocabulary::Add(AddedToken token, const BpeModel& model, const Normalizer* normalizer) {
  if (const std::optional<int32_t> model_id = model.TokenToId(token.content)) {
    if (*model_id != token.id) {
      GetLogger("tokenizer")
          ->warn("added token '{}' has id {} but the vocabulary says {}; using {}", token.content,
                 token.id, *model_id, *model_id);
    }
    token.id = *model_id;
  }
  token.spelling = token.content;
  if (token.normalized && normalizer != nullptr) {
    NormalizedText normalized(token.content, 0);
    SPECD_RETURN_IF_ERROR(normalizer->Normalize(normalized));
    token.spelling = normalized.text();
  }
  if (token.spelling.empty()) {
    GetLogger("tokenizer")
        ->warn("added token '{}' normalizes to nothing; it is never matched", token.content);
  } else {
    (token.normalized ? normalized_trie_ : raw_trie_).Insert(token.spelling, token.id);
  }
  id_by_content_[token.content] = token.id;
  if (token.special) special_contents_.insert(token.content);
  max_id_ = std::max(max_id_, token.id);
  index_by_id_[token.id] = tokens_.size();
  tokens_.push_back(std::move(token));
  return OkStatus();
}

std::vector<TextSplit> AddedVocabulary::SplitOnMatches(const NormalizedText& text,
                                                       const Trie& trie) const {
  const std::string& sentence = text.text();
  std::vector<TextSplit> splits;
  size_t start_offset = 0;
  for (const Trie::Match& match : trie.FindAll(sentence)) {
    size_t start = match.begin;
    size_t stop = match.end;
    const AddedToken& token = *FindById(match.token_id);
    if (token.single_word) {
      const bool word_before = start > 0 && unicode::IsWordChar(CharBefore(sentence, start));
      const bool word_after =
          stop < sentence.size() && unicode::IsWordChar(utf8::DecodeAt(sentence, stop).code_point);
      if (word_before || word_after) continue;
    }
    if (token.lstrip) start = std::max(WhitespaceRunStart(sentence, start), start_offset);
    if (token.rstrip) stop = WhitespaceRunEnd(sentence, stop);
    if (start_offset < start) splits.push_back({text.Slice(start_offset, start), std::nullopt});
    splits.push_back({text.Slice(start, stop), match.token_id});
    start_offset = stop;
  }
  if (start_offset != sentence.size()) {
    splits.push_back({text.Slice(start_offset, sentence.size()), std::nullopt});
  }
  return splits;
}

StatusOr<PreTokenizedText> AddedVocabulary::ExtractAndNormalize(
    std::string_view text, const Normalizer* normalizer) const {
  PreTokenizedText pre_tokenized({TextSplit{NormalizedText(text, 0), std::nullopt}});
  SPECD_RETURN_IF_ERROR(pre_tokenized.SplitWithTokens(
      [&](const NormalizedText& piece) -> StatusOr<std::vector<TextSplit>> {
        return SplitOnMatches(piece, raw_trie_);
      }));
  SPECD_RETURN_IF_ERROR(pre_tokenized.SplitWithTokens(
      [&](const NormalizedText& piece) -> StatusOr<std::vector<TextSplit>> {
        NormalizedText normalized = piece;
        if (normalizer != nullptr) SPECD_RETURN_IF_ERROR(normalizer->Normalize(normalized));
        return SplitOnMatches(normalized, normalized_trie_);
      }));
  return pre_tokenized;
}

std::optional<int32_t> AddedVocabulary::TokenToId(std::string_view content) const {
  const auto it = id_by_content_.find(content);
  if (it == id_by_content_.end()) return std::nullopt;
  return it->second;
}

const AddedToken* AddedVocabulary::FindById(int32_t id) const {
  const auto it = index_by_id_.find(id);
  return it == index_by_id_.end() ? nullptr : &tokens_[it->second];
}

bool AddedVocabulary::IsSpecialContent(std::string_view content) const {
  return special_contents_.find(content) != special_contents_.end();
}

}  // namespace specd
