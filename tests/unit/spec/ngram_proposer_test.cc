// NgramProposer: exact proposals for hand-made sequences, and Propose over several requests.
#include <algorithm>
#include <random>

#include <catch2/catch.hpp>

#include "engine/spec/ngram_proposer.h"

namespace specd {
namespace {

using Tokens = std::vector<int32_t>;

Tokens Propose(int32_t min_n, int32_t max_n, const Tokens& tokens, int32_t max_tokens) {
  return NgramProposer(min_n, max_n).ProposeFor(tokens, max_tokens);
}

// The rule as the header states it, literally: for n = max_n down to min_n, the most recent
// earlier occurrence of the last n tokens that is followed by at least one token.
Tokens Reference(int32_t min_n, int32_t max_n, const Tokens& tokens, int32_t max_tokens) {
  const int64_t size = static_cast<int64_t>(tokens.size());
  for (int64_t n = max_n; n >= min_n; --n) {
    if (n > size - 1) continue;
    for (int64_t start = size - 1 - n; start >= 0; --start) {
      if (!std::equal(tokens.begin() + start, tokens.begin() + start + n, tokens.end() - n)) continue;
      const int64_t count = std::min<int64_t>(max_tokens, size - (start + n));
      return Tokens(tokens.begin() + start + n, tokens.begin() + start + n + count);
    }
  }
  return {};
}

DraftRequest DraftFor(Request& request, int32_t max_tokens) {
  DraftRequest draft_request;
  draft_request.request = &request;
  draft_request.max_tokens = max_tokens;
  return draft_request;
}

}  // namespace

TEST_CASE("ngram: the longest n that matches wins", "[cpu]") {
  // Last 3 = "1 2 3" occurs once (followed by 40); the later "2 3" is followed by 50.
  const Tokens tokens = {1, 2, 3, 40, 41, 9, 2, 3, 50, 51, 1, 2, 3};
  CHECK(Propose(1, 3, tokens, 2) == Tokens{40, 41});
  // With n capped at 2 the latest "2 3" wins instead.
  CHECK(Propose(1, 2, tokens, 2) == Tokens{50, 51});
  // n = 1: the latest earlier "3".
  CHECK(Propose(1, 1, tokens, 2) == Tokens{50, 51});
}

TEST_CASE("ngram: the latest occurrence wins among equal n", "[cpu]") {
  const Tokens tokens = {7, 8, 10, 11, 7, 8, 20, 21, 7, 8};
  CHECK(Propose(2, 2, tokens, 2) == Tokens{20, 21});
  CHECK(Propose(1, 4, tokens, 2) == Tokens{20, 21});
}

TEST_CASE("ngram: max_tokens caps the proposal", "[cpu]") {
  const Tokens tokens = {5, 6, 1, 2, 3, 4, 9, 5, 6};
  CHECK(Propose(1, 2, tokens, 1) == Tokens{1});
  CHECK(Propose(1, 2, tokens, 3) == Tokens{1, 2, 3});
  CHECK(Propose(1, 2, tokens, 0).empty());
}

TEST_CASE("ngram: the proposal stops at the end of the sequence", "[cpu]") {
  // "4 5" last occurred right before "6 4 5": only three tokens follow it.
  const Tokens tokens = {4, 5, 6, 4, 5};
  CHECK(Propose(1, 2, tokens, 5) == Tokens{6, 4, 5});
  // The occurrence may overlap the pattern itself: "9 9 9" after "9".
  CHECK(Propose(1, 3, Tokens{9, 9, 9, 9}, 4) == Tokens{9});
  CHECK(Propose(1, 1, Tokens{9, 9, 9, 9}, 4) == Tokens{9});
}

TEST_CASE("ngram: no match gives an empty proposal", "[cpu]") {
  CHECK(Propose(1, 3, Tokens{1, 2, 3, 4}, 3).empty());
  CHECK(Propose(1, 3, Tokens{}, 3).empty());
  CHECK(Propose(1, 3, Tokens{1}, 3).empty());
  // Only the last position holds the token: a match must end before it.
  CHECK(Propose(1, 3, Tokens{2, 3, 1}, 3).empty());
  // "2 3" occurs earlier, but min_n = 3 asks for more.
  CHECK(Propose(3, 4, Tokens{2, 3, 8, 1, 2, 3}, 2).empty());
  CHECK(Propose(2, 4, Tokens{2, 3, 8, 1, 2, 3}, 2) == Tokens{8, 1});
}

TEST_CASE("ngram: n larger than the sequence is skipped", "[cpu]") {
  // Three tokens: n <= 2 is all that can match; max_n = 8 must not get in the way.
  CHECK(Propose(1, 8, Tokens{1, 2, 1}, 4) == Tokens{2, 1});
  CHECK(Propose(1, 8, Tokens{3, 3}, 4) == Tokens{3});
  CHECK(Propose(3, 8, Tokens{3, 3}, 4).empty());
  CHECK(Propose(2, 8, Tokens{3, 3, 3}, 4) == Tokens{3});
}

TEST_CASE("ngram: repeated patterns", "[cpu]") {
  const int32_t a = 1;
  const int32_t b = 2;
  const Tokens abab = {a, b, a, b, a, b};
  // n = 4: "a b a b" last occurred at 0, followed by "a b".
  CHECK(Propose(1, 4, abab, 4) == Tokens{a, b});
  // n = 2: the latest earlier "a b" ends at 3, followed by "a b".
  CHECK(Propose(2, 2, abab, 4) == Tokens{a, b});
  // n = 1: the latest earlier "b" is at 3, followed by "a b".
  CHECK(Propose(1, 1, abab, 1) == Tokens{a});
  // n = 5: "b a b a b" occurs only as the suffix itself; n = 4 takes over.
  CHECK(Propose(4, 5, abab, 4) == Tokens{a, b});
  CHECK(Propose(5, 5, abab, 4).empty());
  // A long periodic sequence proposes the continuation of the period.
  const Tokens period3 = {1, 2, 3, 1, 2, 3, 1, 2, 3, 1};
  CHECK(Propose(1, 3, period3, 5) == Tokens{2, 3, 1});
}

TEST_CASE("ngram: a long context finds its match", "[cpu]") {
  Tokens tokens;
  for (int32_t i = 0; i < 4000; ++i) tokens.push_back(1000 + i);
  tokens.insert(tokens.end(), {1010, 1011, 1012});
  CHECK(Propose(1, 3, tokens, 3) == Tokens{1013, 1014, 1015});
}

TEST_CASE("ngram: random sequences match the rule as stated", "[cpu]") {
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 2000; ++trial) {
    const int32_t alphabet = 2 + static_cast<int32_t>(rng() % 4);
    Tokens tokens(rng() % 40);
    for (int32_t& token : tokens) token = static_cast<int32_t>(rng() % alphabet);
    const int32_t min_n = 1 + static_cast<int32_t>(rng() % 4);
    const int32_t max_n = min_n + static_cast<int32_t>(rng() % 4);
    const int32_t max_tokens = static_cast<int32_t>(rng() % 8);
    INFO("trial " << trial);
    CHECK(Propose(min_n, max_n, tokens, max_tokens) == Reference(min_n, max_n, tokens, max_tokens));
  }
}

TEST_CASE("ngram: Propose gives one draft per request, in order, without probs", "[cpu]") {
  Request matches;
  matches.all_token_ids = {1, 2, 3, 4, 1, 2};
  Request no_match;
  no_match.all_token_ids = {1, 2, 3};
  Request capped;
  capped.all_token_ids = {5, 6, 7, 8, 9, 5};
  const std::vector<DraftRequest> requests = {
      DraftFor(matches, 4), DraftFor(no_match, 4), DraftFor(capped, 2)};
  NgramProposer proposer(1, 3);
  const std::vector<Draft> drafts = proposer.Propose(requests);
  REQUIRE(drafts.size() == 3);
  CHECK(drafts[0].tokens == Tokens{3, 4, 1, 2});
  CHECK(drafts[1].tokens.empty());
  CHECK(drafts[2].tokens == Tokens{6, 7});
  for (const Draft& draft : drafts) CHECK(draft.probs.empty());
  CHECK(proposer.Propose({}).empty());
}

}  // namespace specd
