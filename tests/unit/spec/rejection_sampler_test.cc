// VerifyDrafts on hand-made rows: greedy requests reproduce plain greedy decoding (drafts count
// as output for penalties and min_tokens), sampled requests make exactly the accept / residual /
// bonus draws rejection_sampler.h defines, and every emitted token carries the raw logprobs of
// the row that decided it.
#include "engine/spec/rejection_sampler.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <vector>

namespace specd {
namespace {

// Owns everything a VerifyInput points at; rows are [k + 1] target rows of one vocabulary.
struct VerifyCase {
  std::vector<std::vector<float>> target_rows;  // [k + 1][vocab]
  std::vector<std::vector<float>> draft_rows;   // [k][vocab], or empty: one-hot q
  std::vector<int32_t> drafts;                  // [k]
  SamplingParams params;
  uint64_t seed = 0;
  std::vector<int32_t> prompt;
  std::vector<int32_t> output;
  std::vector<int32_t> eos;

  int64_t vocab() const { return static_cast<int64_t>(target_rows.front().size()); }

  std::vector<SampledToken> Verify() const {
    const std::vector<float> logits = Flatten(target_rows);
    const std::vector<float> probs = Flatten(draft_rows);
    VerifyInput input;
    input.target_logits = logits;
    input.sampling.params = &params;
    input.sampling.seed = seed;
    input.sampling.prompt_token_ids = prompt;
    input.sampling.output_token_ids = output;
    input.sampling.eos_token_ids = eos;
    input.draft_tokens = drafts;
    input.draft_probs = probs;
    input.vocab_size = vocab();
    return VerifyDrafts(input);
  }

  // Sampler::Score of `token` at target row i, with drafts 0..i-1 counted as output.
  SampledToken ScoreAt(size_t i, int32_t token) const {
    const std::vector<int32_t> history = HistoryAt(i);
    return Sampler::Score(RowAt(i, history), token);
  }

  // Sampler::Probabilities of target row i, with drafts 0..i-1 counted as output.
  std::vector<float> ProbsAt(size_t i) const {
    const std::vector<int32_t> history = HistoryAt(i);
    return Sampler::Probabilities(RowAt(i, history));
  }

 private:
  static std::vector<float> Flatten(const std::vector<std::vector<float>>& rows) {
    std::vector<float> flat;
    for (const auto& row : rows) flat.insert(flat.end(), row.begin(), row.end());
    return flat;
  }

  std::vector<int32_t> HistoryAt(size_t i) const {
    std::vector<int32_t> history = output;
    history.insert(history.end(), drafts.begin(), drafts.begin() + i);
    return history;
  }

  SamplingRow RowAt(size_t i, const std::vector<int32_t>& history) const {
    SamplingRow row;
    row.logits = target_rows[i];
    row.params = &params;
    row.seed = seed;
    row.prompt_token_ids = prompt;
    row.output_token_ids = history;
    row.eos_token_ids = eos;
    return row;
  }
};

std::vector<int32_t> Tokens(const std::vector<SampledToken>& sampled) {
  std::vector<int32_t> tokens;
  for (const SampledToken& s : sampled) tokens.push_back(s.token);
  return tokens;
}

void CheckSameToken(const SampledToken& actual, const SampledToken& expected) {
  CHECK(actual.token == expected.token);
  CHECK(actual.logprob == expected.logprob);
  CHECK(actual.rank == expected.rank);
  REQUIRE(actual.top_logprobs.size() == expected.top_logprobs.size());
  for (size_t j = 0; j < actual.top_logprobs.size(); ++j) {
    CHECK(actual.top_logprobs[j].token == expected.top_logprobs[j].token);
    CHECK(actual.top_logprobs[j].logprob == expected.top_logprobs[j].logprob);
  }
}

// Each emitted token equals Sampler::Score of its row.
void CheckScoredByRows(const VerifyCase& c, const std::vector<SampledToken>& emitted) {
  for (size_t i = 0; i < emitted.size(); ++i) {
    INFO("emitted token " << i);
    CheckSameToken(emitted[i], c.ScoreAt(i, emitted[i].token));
  }
}

std::vector<float> Log(const std::vector<double>& probs) {
  std::vector<float> logits;
  for (const double p : probs) logits.push_back(static_cast<float>(std::log(p)));
  return logits;
}

// Greedy rows of a vocabulary of 6 whose argmaxes are 2, 4, 1, 5.
VerifyCase GreedyCase(std::vector<int32_t> drafts) {
  VerifyCase c;
  c.params.temperature = 0.0f;
  c.target_rows = {{0.1f, 0.5f, 2.0f, -1.0f, 0.3f, 0.0f},
                   {1.0f, 0.0f, 0.5f, 0.2f, 3.0f, -0.5f},
                   {0.0f, 2.5f, 1.0f, 0.0f, 0.5f, 1.5f},
                   {0.2f, 0.1f, 0.0f, 0.3f, 0.4f, 1.0f}};
  c.drafts = std::move(drafts);
  return c;
}

TEST_CASE("Greedy: all drafts match, then the bonus token", "[cpu][spec]") {
  const VerifyCase c = GreedyCase({2, 4, 1});
  CHECK(Tokens(c.Verify()) == std::vector<int32_t>{2, 4, 1, 5});
}

TEST_CASE("Greedy: a mismatch emits the target's token there and stops", "[cpu][spec]") {
  CHECK(Tokens(GreedyCase({3, 4, 1}).Verify()) == std::vector<int32_t>{2});
  CHECK(Tokens(GreedyCase({2, 0, 1}).Verify()) == std::vector<int32_t>{2, 4});
  CHECK(Tokens(GreedyCase({2, 4, 0}).Verify()) == std::vector<int32_t>{2, 4, 1});
}

TEST_CASE("Greedy: no drafts emits the plain greedy token", "[cpu][spec]") {
  VerifyCase c = GreedyCase({});
  c.target_rows.resize(1);
  CHECK(Tokens(c.Verify()) == std::vector<int32_t>{2});
}

TEST_CASE("Greedy ignores the seed and the draft distribution", "[cpu][spec]") {
  VerifyCase c = GreedyCase({2, 0, 1});
  c.draft_rows.assign(3, std::vector<float>(6, 1.0f / 6.0f));
  for (const uint64_t seed : {0, 1, 99}) {
    c.seed = seed;
    CHECK(Tokens(c.Verify()) == std::vector<int32_t>{2, 4});
  }
}

TEST_CASE("Greedy: presence penalty counts the accepted drafts as output", "[cpu][spec]") {
  VerifyCase c;
  c.params.temperature = 0.0f;
  c.params.presence_penalty = 2.0f;
  c.output = {1};
  // Row 0: 1 is output (3 - 2 = 1 < 2.5): 2. Row 1: draft 2 penalized (1 < 2): 4. Row 2: draft 4
  // penalized (1 < 2.5): 5, where unpenalized rows would give 1, 2, 4.
  c.target_rows = {{0.0f, 3.0f, 2.5f, 0.0f, 0.0f, 0.0f},
                   {0.0f, 0.0f, 3.0f, 0.0f, 2.0f, 0.0f},
                   {0.0f, 0.0f, 0.0f, 0.0f, 3.0f, 2.5f}};
  c.drafts = {2, 4};
  CHECK(Tokens(c.Verify()) == std::vector<int32_t>{2, 4, 5});
}

TEST_CASE("Greedy: frequency penalty counts a repeated draft once per occurrence",
          "[cpu][spec]") {
  VerifyCase c;
  c.params.temperature = 0.0f;
  c.params.frequency_penalty = 1.0f;
  // Token 2 scores 3, 3 - 1 = 2, 3 - 2 = 1 after zero, one, two drafts of 2; token 4 scores 1.5.
  const std::vector<float> row = {0.0f, 0.0f, 3.0f, 0.0f, 1.5f, 0.0f};
  c.target_rows = {row, row, row, row};
  c.drafts = {2, 2, 2};
  CHECK(Tokens(c.Verify()) == std::vector<int32_t>{2, 2, 4});
}

TEST_CASE("Greedy: min_tokens masks eos and stop ids until drafts reach it", "[cpu][spec]") {
  VerifyCase c;
  c.params.temperature = 0.0f;
  c.params.min_tokens = 2;
  c.params.stop_token_ids = {5};
  c.eos = {0};
  // eos (0) and stop id 5 lead every row; masked at n = 0, 1 (drafts 3 and 4 win), free at n = 2.
  c.target_rows = {{5.0f, 0.0f, 1.0f, 3.0f, 0.0f, 4.0f},
                   {5.0f, 0.0f, 1.0f, 0.0f, 3.0f, 4.0f},
                   {5.0f, 0.0f, 1.0f, 0.0f, 3.0f, 4.0f}};
  c.drafts = {3, 4};
  CHECK(Tokens(c.Verify()) == std::vector<int32_t>{3, 4, 0});
  c.drafts = {3, 0};  // eos drafted at n = 1 is rejected: the target still masks it
  CHECK(Tokens(c.Verify()) == std::vector<int32_t>{3, 4});
}

TEST_CASE("Greedy equals plain greedy decoding token by token", "[cpu][spec]") {
  VerifyCase c = GreedyCase({2, 4, 3});
  c.params.repetition_penalty = 1.5f;
  c.prompt = {5};
  const std::vector<SampledToken> emitted = c.Verify();
  std::vector<int32_t> history;
  for (size_t i = 0; i < emitted.size(); ++i) {
    SamplingRow row;
    row.logits = c.target_rows[i];
    row.params = &c.params;
    row.prompt_token_ids = c.prompt;
    row.output_token_ids = history;
    const SampledToken plain = Sampler::Sample(row);
    CheckSameToken(emitted[i], plain);
    history.push_back(plain.token);
  }
  CHECK(Tokens(emitted) == std::vector<int32_t>{2, 4, 1});
}

TEST_CASE("Every emitted token carries the raw logprobs of its row", "[cpu][spec]") {
  VerifyCase c = GreedyCase({2, 4, 1});
  c.params.top_logprobs = 2;
  c.params.presence_penalty = 0.5f;  // processing must not leak into the reported logprobs
  const std::vector<SampledToken> emitted = c.Verify();
  REQUIRE(emitted.size() == 4);
  CheckScoredByRows(c, emitted);

  // By hand, row 0: log_softmax of the raw logits at token 2, rank 1, then token 1 (rank 2).
  double sum = 0.0;
  for (const float x : c.target_rows[0]) sum += std::exp(static_cast<double>(x) - 2.0);
  const double log_normalizer = 2.0 + std::log(sum);
  CHECK(emitted[0].logprob == Approx(2.0 - log_normalizer).epsilon(1e-6));
  CHECK(emitted[0].rank == 1);
  REQUIRE(emitted[0].top_logprobs.size() == 2);
  CHECK(emitted[0].top_logprobs[0].token == 2);
  CHECK(emitted[0].top_logprobs[1].token == 1);
  CHECK(emitted[0].top_logprobs[1].logprob == Approx(0.5 - log_normalizer).epsilon(1e-6));
}

// Sampled rows of a vocabulary of 5 with exact target probabilities; the output so far has
// m = 2 tokens, so the rows decide positions 2, 3 and 4.
//   row 0: p = [.1 .2 .3 .3 .1], q = [.4 .1 .1 .3 .1], draft 0: accept iff u1(2) < .1/.4 = .25;
//          residual max(0, p - q) = [0 .1 .2 0 0] -> [0 1/3 2/3 0 0].
//   row 1: p = [.5 .1 .1 .2 .1], q = [.25 .25 .25 .25 0], draft 3: accept iff u1(3) < .8;
//          residual [.25 0 0 0 .1] -> [5/7 0 0 0 2/7].
//   row 2: bonus from p = uniform over 5 with u0(4).
VerifyCase SampledCase(uint64_t seed) {
  VerifyCase c;
  c.params.temperature = 1.0f;
  c.seed = seed;
  c.output = {4, 4};
  c.target_rows = {Log({0.1, 0.2, 0.3, 0.3, 0.1}), Log({0.5, 0.1, 0.1, 0.2, 0.1}),
                   Log({0.2, 0.2, 0.2, 0.2, 0.2})};
  c.draft_rows = {{0.4f, 0.1f, 0.1f, 0.3f, 0.1f}, {0.25f, 0.25f, 0.25f, 0.25f, 0.0f}};
  c.drafts = {0, 3};
  return c;
}

TEST_CASE("Sampled: exact outcomes of the accept, residual and bonus draws", "[cpu][spec]") {
  // The uniforms these outcomes rest on (Sampler::Uniform(seed, position, stream)).
  REQUIRE(Sampler::Uniform(2, 2, 1) == Approx(0.422).margin(1e-3));  // >= .25: reject row 0
  REQUIRE(Sampler::Uniform(2, 2, 2) == Approx(0.235).margin(1e-3));  // < 1/3: token 1
  REQUIRE(Sampler::Uniform(1, 2, 1) == Approx(0.464).margin(1e-3));  // >= .25: reject row 0
  REQUIRE(Sampler::Uniform(1, 2, 2) == Approx(0.635).margin(1e-3));  // >= 1/3: token 2
  REQUIRE(Sampler::Uniform(8, 2, 1) == Approx(0.078).margin(1e-3));  // < .25: accept 0
  REQUIRE(Sampler::Uniform(8, 3, 1) == Approx(0.902).margin(1e-3));  // >= .8: reject row 1
  REQUIRE(Sampler::Uniform(8, 3, 2) == Approx(0.611).margin(1e-3));  // < 5/7: token 0
  REQUIRE(Sampler::Uniform(3, 2, 1) == Approx(0.193).margin(1e-3));  // accept 0
  REQUIRE(Sampler::Uniform(3, 3, 1) == Approx(0.627).margin(1e-3));  // < .8: accept 3
  REQUIRE(Sampler::Uniform(3, 4, 0) == Approx(0.659).margin(1e-3));  // in [.6, .8): bonus 3
  REQUIRE(Sampler::Uniform(7, 2, 1) == Approx(0.232).margin(1e-3));  // accept 0
  REQUIRE(Sampler::Uniform(7, 3, 1) == Approx(0.309).margin(1e-3));  // accept 3
  REQUIRE(Sampler::Uniform(7, 4, 0) == Approx(0.518).margin(1e-3));  // in [.4, .6): bonus 2

  CHECK(Tokens(SampledCase(2).Verify()) == std::vector<int32_t>{1});
  CHECK(Tokens(SampledCase(1).Verify()) == std::vector<int32_t>{2});
  CHECK(Tokens(SampledCase(8).Verify()) == std::vector<int32_t>{0, 0});
  CHECK(Tokens(SampledCase(3).Verify()) == std::vector<int32_t>{0, 3, 3});
  CHECK(Tokens(SampledCase(7).Verify()) == std::vector<int32_t>{0, 3, 2});
}

TEST_CASE("Sampled: outcomes follow the documented rule over many seeds", "[cpu][spec]") {
  for (uint64_t seed = 0; seed < 300; ++seed) {
    INFO("seed " << seed);
    const VerifyCase c = SampledCase(seed);
    std::vector<int32_t> expected;
    if (Sampler::Uniform(seed, 2, 1) >= 0.25) {
      expected = {Sampler::Uniform(seed, 2, 2) < 1.0 / 3.0 ? 1 : 2};
    } else if (Sampler::Uniform(seed, 3, 1) >= 0.8) {
      expected = {0, Sampler::Uniform(seed, 3, 2) < 5.0 / 7.0 ? 0 : 4};
    } else {
      expected = {0, 3, static_cast<int32_t>(Sampler::Uniform(seed, 4, 0) * 5.0)};
    }
    const std::vector<SampledToken> emitted = c.Verify();
    REQUIRE(Tokens(emitted) == expected);
    CheckScoredByRows(c, emitted);
  }
}

TEST_CASE("Sampled: a draft the draft distribution gives no mass is rejected", "[cpu][spec]") {
  VerifyCase c;
  c.target_rows = {Log({0.1, 0.2, 0.3, 0.3, 0.1}), Log({0.2, 0.2, 0.2, 0.2, 0.2})};
  c.draft_rows = {{0.5f, 0.5f, 0.0f, 0.0f, 0.0f}};
  c.drafts = {2};  // q(2) = 0 < p(2): residual [0 0 .3 .3 .1] / .7
  for (uint64_t seed = 0; seed < 300; ++seed) {
    c.seed = seed;
    const double u = Sampler::Uniform(seed, 0, 2);
    const int32_t expected = u < 3.0 / 7.0 ? 2 : (u < 6.0 / 7.0 ? 3 : 4);
    REQUIRE(Tokens(c.Verify()) == std::vector<int32_t>{expected});
  }
  c.seed = 3;  // u2(0) = .890: token 4
  CHECK(Tokens(c.Verify()) == std::vector<int32_t>{4});
}

TEST_CASE("Sampled: a draft the target gives no mass is rejected", "[cpu][spec]") {
  VerifyCase c;
  c.params.top_k = 3;  // p = [.4 .4 .2 0 0] (tokens 3, 4 cut)
  c.target_rows = {Log({0.2, 0.2, 0.1, 0.05, 0.05}), Log({0.2, 0.2, 0.2, 0.2, 0.2})};
  c.draft_rows = {{0.2f, 0.2f, 0.2f, 0.2f, 0.2f}};
  c.drafts = {3};
  REQUIRE(c.ProbsAt(0)[3] == 0.0f);
  for (uint64_t seed = 0; seed < 300; ++seed) {
    c.seed = seed;
    const std::vector<int32_t> tokens = Tokens(c.Verify());
    REQUIRE(tokens.size() == 1);
    CHECK(tokens[0] < 3);
  }
}

// One-hot q (draft_probs empty): accept draft 1 iff u1(0) < p(1) = .2; residual
// [.1 0 .3 .3 .1] / .8 = [.125 0 .375 .375 .125]; bonus uniform over 5 with u0(1).
TEST_CASE("Sampled: one-hot q accepts with p(d) and draws from p without d", "[cpu][spec]") {
  VerifyCase c;
  c.target_rows = {Log({0.1, 0.2, 0.3, 0.3, 0.1}), Log({0.2, 0.2, 0.2, 0.2, 0.2})};
  c.drafts = {1};
  const auto verify = [&c](uint64_t seed) {
    c.seed = seed;
    return Tokens(c.Verify());
  };
  // seed 6: u1(0) = .026 accept, u0(1) = .169 bonus 0; seed 8: u1(0) = .097, u0(1) = .409: 2.
  CHECK(verify(6) == std::vector<int32_t>{1, 0});
  CHECK(verify(8) == std::vector<int32_t>{1, 2});
  // Rejections (u1(0) >= .2) with u2(0) = .022, .242, .775, .890: tokens 0, 2, 3, 4.
  CHECK(verify(11) == std::vector<int32_t>{0});
  CHECK(verify(1) == std::vector<int32_t>{2});
  CHECK(verify(4) == std::vector<int32_t>{3});
  CHECK(verify(3) == std::vector<int32_t>{4});
  for (uint64_t seed = 0; seed < 300; ++seed) {
    const std::vector<int32_t> tokens = verify(seed);
    REQUIRE((tokens.size() == 2) == (Sampler::Uniform(seed, 0, 1) < 0.2));
    if (tokens.size() == 1) CHECK(tokens[0] != 1);
  }
}

TEST_CASE("Sampled: penalties see the accepted drafts", "[cpu][spec]") {
  VerifyCase c;
  c.params.presence_penalty = 20.0f;
  // Token 2 all but certain at both rows, unless row 1 counts draft 2 as output (10 - 20 = -10).
  const std::vector<float> row = {0.0f, 0.0f, 10.0f, 0.0f, 0.0f};
  c.target_rows = {row, row, row};
  c.drafts = {2, 2};
  c.seed = 1;  // u1(0) = .621, u1(1) = .490
  REQUIRE(c.ProbsAt(1)[2] < 1e-4f);
  const std::vector<int32_t> tokens = Tokens(c.Verify());
  REQUIRE(tokens.size() == 2);
  CHECK(tokens[0] == 2);
  CHECK(tokens[1] != 2);
  c.params.presence_penalty = 0.0f;
  CHECK(Tokens(c.Verify()).size() == 3);
}

TEST_CASE("Sampled: no drafts draws exactly what Sampler::Sample draws", "[cpu][spec]") {
  VerifyCase c;
  c.params.temperature = 0.7f;
  c.params.top_logprobs = 3;
  c.target_rows = {{0.3f, -1.0f, 2.0f, 0.5f, 1.1f, 0.0f}};
  c.output = {1, 2, 3};
  for (uint64_t seed = 0; seed < 50; ++seed) {
    c.seed = seed;
    SamplingRow row;
    row.logits = c.target_rows[0];
    row.params = &c.params;
    row.seed = seed;
    row.output_token_ids = c.output;
    const std::vector<SampledToken> emitted = c.Verify();
    REQUIRE(emitted.size() == 1);
    CheckSameToken(emitted[0], Sampler::Sample(row));
  }
}

TEST_CASE("Sampled: q equal to p accepts every draft", "[cpu][spec]") {
  VerifyCase c;
  c.target_rows = {Log({0.1, 0.2, 0.3, 0.3, 0.1}), Log({0.2, 0.2, 0.2, 0.2, 0.2})};
  c.draft_rows = {c.ProbsAt(0)};
  for (uint64_t seed = 0; seed < 100; ++seed) {
    c.seed = seed;
    c.drafts = {static_cast<int32_t>(seed % 5)};
    CHECK(c.Verify().size() == 2);
  }
}

}  // namespace
}  // namespace specd
