// Making prompts of a given length (see prompt_source.h).
#include "bench/load/prompt_source.h"

#include <algorithm>

#include "engine/base/check.h"

namespace specd::bench {

PromptSource PromptSource::RandomTokens(int32_t vocab_size, std::vector<int32_t> excluded_ids) {
  std::sort(excluded_ids.begin(), excluded_ids.end());
  excluded_ids.erase(std::unique(excluded_ids.begin(), excluded_ids.end()), excluded_ids.end());
  SPECD_CHECK(vocab_size > static_cast<int32_t>(excluded_ids.size())) << "no token id left to draw";
  PromptSource source;
  source.vocab_size_ = vocab_size;
  source.excluded_ids_ = std::move(excluded_ids);
  return source;
}

PromptSource PromptSource::Corpus(std::vector<int32_t> prefix, const std::vector<std::vector<int32_t>>& documents) {
  PromptSource source;
  source.random_ = false;
  source.prefix_ = std::move(prefix);
  for (const auto& document : documents) {
    if (document.empty()) continue;
    source.document_starts_.push_back(source.corpus_.size());
    source.corpus_.insert(source.corpus_.end(), document.begin(), document.end());
  }
  SPECD_CHECK(!source.corpus_.empty()) << "a corpus without tokens";
  return source;
}

std::vector<int32_t> PromptSource::Make(int64_t length, SeededRng& rng) const {
  SPECD_CHECK(length >= 1) << "prompt length " << length;
  return random_ ? MakeRandom(length, rng) : MakeFromCorpus(length, rng);
}

std::vector<int32_t> PromptSource::MakeRandom(int64_t length, SeededRng& rng) const {
  std::vector<int32_t> ids;
  ids.reserve(static_cast<size_t>(length));
  while (static_cast<int64_t>(ids.size()) < length) {
    const auto id = static_cast<int32_t>(rng.UniformInt(0, vocab_size_ - 1));
    if (!std::binary_search(excluded_ids_.begin(), excluded_ids_.end(), id)) ids.push_back(id);
  }
  return ids;
}

std::vector<int32_t> PromptSource::MakeFromCorpus(int64_t length, SeededRng& rng) const {
  const auto count = static_cast<size_t>(length);
  std::vector<int32_t> ids(prefix_.begin(), prefix_.begin() + static_cast<std::ptrdiff_t>(std::min(count, prefix_.size())));
  const auto document = static_cast<size_t>(rng.UniformInt(0, static_cast<int64_t>(document_starts_.size()) - 1));
  for (size_t at = document_starts_[document]; ids.size() < count; at = (at + 1) % corpus_.size()) {
    ids.push_back(corpus_[at]);
  }
  return ids;
}

}  // namespace specd::bench
