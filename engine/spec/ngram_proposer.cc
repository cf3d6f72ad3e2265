// NgramProposer (see ngram_proposer.h): prompt lookup over a request's own all_token_ids.
// Engine thread; keeps no per-request state, so Forget has nothing to do.
//
// One backwards scan finds, for every earlier end position j, how many of the tokens ending at
// j equal the tokens ending at the last position (the common suffix, capped at max_n):
//
//   tokens:  ... x  a  b  c  y  ...  a  b  c
//                      ^j                  ^last       suffix(j) = 3 ("a b c")
//   proposal:            tokens[j + 1, j + 1 + max_tokens), cut at the end of the sequence
//
// j runs from last - 1 down to 0, so an occurrence always ends before the last position and
// is followed by at least one token. The longest suffix (>= min_n) wins; among equals the
// latest j wins. That is exactly "for n = max_n down to min_n, the most recent earlier
// occurrence of the last n tokens": the first n with any occurrence is the longest suffix.
//
// Cost: O(L * max_n) comparisons for L tokens in the worst case (a run of one repeated token
// stops at once, since the latest j then already reaches max_n); usually a mismatch on the
// first comparison makes it O(L). A few thousand tokens cost microseconds per request.
#include "engine/spec/ngram_proposer.h"

#include <algorithm>

#include "engine/base/check.h"

namespace specd {
namespace {

// The number of equal tokens ending at `a` and at `b` (a < b), at most `cap`.
int32_t CommonSuffix(std::span<const int32_t> tokens, size_t a, size_t b, int32_t cap) {
  int32_t length = 0;
  while (length < cap && static_cast<size_t>(length) <= a &&
         tokens[a - length] == tokens[b - length]) {
    ++length;
  }
  return length;
}

}  // namespace

NgramProposer::NgramProposer(int32_t min_n, int32_t max_n) : min_n_(min_n), max_n_(max_n) {
  SPECD_CHECK(1 <= min_n && min_n <= max_n) << "n-gram range [" << min_n << ", " << max_n << "]";
}

std::vector<Draft> NgramProposer::Propose(std::span<const DraftRequest> requests) {
  std::vector<Draft> drafts(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    SPECD_CHECK(requests[i].request != nullptr) << "draft request " << i << " has no request";
    drafts[i].tokens = ProposeFor(requests[i].request->all_token_ids, requests[i].max_tokens);
  }
  return drafts;
}

std::vector<int32_t> NgramProposer::ProposeFor(std::span<const int32_t> tokens,
                                               int32_t max_tokens) const {
  if (max_tokens <= 0 || tokens.size() < 2) return {};
  const size_t last = tokens.size() - 1;
  int32_t best_length = 0;
  size_t best_end = 0;
  for (size_t j = last; j-- > 0;) {
    const int32_t length = CommonSuffix(tokens, j, last, max_n_);
    if (length <= best_length) continue;
    best_length = length;
    best_end = j;
    if (best_length == max_n_) break;  // the longest possible, and the latest such j
  }
  if (best_length < min_n_) return {};
  const size_t begin = best_end + 1;
  const size_t count = std::min<size_t>(static_cast<size_t>(max_tokens), tokens.size() - begin);
  return std::vector<int32_t>(tokens.begin() + begin, tokens.begin() + begin + count);
}

}  // namespace specd
