// Sampler: each parameter changes exactly what sampler.h says, the counter-based RNG is pinned,
// draws follow the documented inverse CDF, and logprobs are of the raw row.
#include "engine/sampling/sampler.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <set>
#include <vector>

namespace specd {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kTwoPow53 = 9007199254740992.0;

// Owns everything a SamplingRow points at.
struct TestRow {
  std::vector<float> logits;
  SamplingParams params;
  uint64_t seed = 0;
  std::vector<int32_t> prompt;
  std::vector<int32_t> output;
  std::vector<int32_t> eos;

  SamplingRow Row() const {
    SamplingRow row;
    row.logits = logits;
    row.params = &params;
    row.seed = seed;
    row.prompt_token_ids = prompt;
    row.output_token_ids = output;
    row.eos_token_ids = eos;
    return row;
  }
  std::vector<float> Probs() const { return Sampler::Probabilities(Row()); }
  SampledToken Sample() const { return Sampler::Sample(Row()); }
};

TestRow MakeRow(std::vector<float> logits, float temperature = 1.0f) {
  TestRow row;
  row.logits = std::move(logits);
  row.params.temperature = temperature;
  return row;
}

// softmax(logits / temperature) in double; -inf entries get 0.
std::vector<double> Softmax(const std::vector<double>& logits, double temperature = 1.0) {
  double max_logit = -kInf;
  for (const double x : logits) max_logit = std::max(max_logit, x);
  std::vector<double> probs;
  double sum = 0.0;
  for (const double x : logits) {
    probs.push_back(std::exp((x - max_logit) / temperature));
    sum += probs.back();
  }
  for (double& p : probs) p /= sum;
  return probs;
}

// Zeros must be exact zeros (excluded tokens); the rest within float rounding.
void CheckProbs(const std::vector<float>& actual, const std::vector<double>& expected) {
  REQUIRE(actual.size() == expected.size());
  for (size_t t = 0; t < actual.size(); ++t) {
    INFO("token " << t);
    if (expected[t] == 0.0) {
      CHECK(actual[t] == 0.0f);
    } else {
      CHECK(actual[t] == Approx(expected[t]).margin(1e-6));
    }
  }
}

// The documented draw: smallest id with p > 0 and u < cumulative p (id order).
int32_t InverseCdf(const std::vector<float>& probs, double u) {
  double cumulative = 0.0;
  int32_t last = -1;
  for (size_t t = 0; t < probs.size(); ++t) {
    if (probs[t] == 0.0f) continue;
    cumulative += probs[t];
    last = static_cast<int32_t>(t);
    if (u < cumulative) return last;
  }
  return last;
}

std::vector<float> LogsOf(const std::vector<double>& probs) {
  std::vector<float> logits;
  for (const double p : probs) logits.push_back(static_cast<float>(std::log(p)));
  return logits;
}

// Renormalized `probs` over `kept` (others 0).
std::vector<double> Restrict(const std::vector<double>& probs, const std::set<int>& kept) {
  double sum = 0.0;
  for (const int t : kept) sum += probs[t];
  std::vector<double> out(probs.size(), 0.0);
  for (const int t : kept) out[t] = probs[t] / sum;
  return out;
}

// ---- Uniform ----------------------------------------------------------------------------------

TEST_CASE("Uniform is the documented SplitMix64 counter, pinned", "[cpu][sampling]") {
  // uniform * 2^53 is the top 53 bits of the SplitMix64 output (values from a Python model of
  // the formula in sampler.cc).
  CHECK(Sampler::Uniform(0, 0) * kTwoPow53 == 1249383295688599.0);
  CHECK(Sampler::Uniform(0, 1) * kTwoPow53 == 8746909956485189.0);
  CHECK(Sampler::Uniform(42, 7) * kTwoPow53 == 2869287120865555.0);
  CHECK(Sampler::Uniform(42, 7, 1) * kTwoPow53 == 5088192103152954.0);
  CHECK(Sampler::Uniform(12345, 100, 0) * kTwoPow53 == 3206947246779609.0);
  CHECK(Sampler::Uniform(~uint64_t{0}, ~uint64_t{0}, 3) * kTwoPow53 == 8034519759075465.0);
  CHECK(Sampler::Uniform(42, 7, 0) == Sampler::Uniform(42, 7));  // stream 0 is the default
}

TEST_CASE("Uniform is pure, in [0, 1) and spread evenly", "[cpu][sampling]") {
  constexpr int kDraws = 100000;
  constexpr int kBuckets = 10;
  std::vector<int> counts(kBuckets, 0);
  for (int n = 0; n < kDraws; ++n) {
    const double u = Sampler::Uniform(7, n);
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
    REQUIRE(u == Sampler::Uniform(7, n));
    ++counts[static_cast<int>(u * kBuckets)];
  }
  double chi_square = 0.0;
  const double expected = static_cast<double>(kDraws) / kBuckets;
  for (const int count : counts) chi_square += (count - expected) * (count - expected) / expected;
  CHECK(chi_square < 40.0);  // 9 degrees of freedom: p ~ 1e-5 at 40
  // Seed, position and stream each matter.
  CHECK(Sampler::Uniform(1, 5) != Sampler::Uniform(2, 5));
  CHECK(Sampler::Uniform(1, 5) != Sampler::Uniform(1, 6));
  CHECK(Sampler::Uniform(1, 5, 0) != Sampler::Uniform(1, 5, 1));
}

// ---- The draw ---------------------------------------------------------------------------------

TEST_CASE("Sample draws by inverse CDF in id order with Uniform(seed, n)", "[cpu][sampling]") {
  TestRow row = MakeRow({0.3f, -1.0f, 2.0f, 0.7f, 0.0f, 1.1f}, 0.8f);
  row.seed = 99;
  const std::vector<float> probs = row.Probs();
  for (int n = 0; n < 500; ++n) {
    INFO("position " << n);
    REQUIRE(row.Sample().token == InverseCdf(probs, Sampler::Uniform(99, n)));
    row.output.push_back(n % 6);
  }
}

TEST_CASE("A seeded draw depends only on (seed, position)", "[cpu][sampling]") {
  TestRow a = MakeRow({0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f});
  a.seed = 2024;
  TestRow b = a;
  std::vector<int32_t> tokens_a;
  std::vector<int32_t> tokens_b;
  for (int n = 0; n < 64; ++n) {
    tokens_a.push_back(a.Sample().token);
    tokens_b.push_back(b.Sample().token);
    a.output.push_back(tokens_a.back());
    b.output.push_back(7 - n % 8);  // different history, same length
    b.prompt.push_back(n % 5);      // different prompt
    b.eos = {n % 8};                // different eos (min_tokens 0: no effect)
  }
  CHECK(tokens_a == tokens_b);
  TestRow c = MakeRow(a.logits);
  c.seed = 2025;
  std::vector<int32_t> tokens_c;
  for (int n = 0; n < 64; ++n) {
    tokens_c.push_back(c.Sample().token);
    c.output.push_back(tokens_c.back());
  }
  CHECK(tokens_c != tokens_a);
}

TEST_CASE("Sampling frequencies match Probabilities (chi-square)", "[cpu][sampling]") {
  TestRow row = MakeRow({0.5f, 1.0f, -0.3f, 2.0f, 0.0f, -1.0f, 1.5f, 0.2f}, 0.9f);
  row.params.top_k = 6;  // drops ids 5 and 2
  row.seed = 31337;
  const std::vector<float> probs = row.Probs();
  constexpr int kDraws = 20000;
  std::vector<int> counts(probs.size(), 0);
  for (int n = 0; n < kDraws; ++n) {
    const int32_t token = row.Sample().token;
    ++counts[token];
    row.output.push_back(token);
  }
  CHECK(counts[5] == 0);
  CHECK(counts[2] == 0);
  double chi_square = 0.0;
  for (size_t t = 0; t < probs.size(); ++t) {
    if (probs[t] == 0.0f) continue;
    const double expected = probs[t] * kDraws;
    chi_square += (counts[t] - expected) * (counts[t] - expected) / expected;
  }
  CHECK(chi_square < 30.0);  // 5 degrees of freedom: p ~ 2e-5 at 30
}

// ---- Temperature, greedy -----------------------------------------------------------------------

TEST_CASE("Temperature divides the logits", "[cpu][sampling]") {
  const std::vector<double> logits = {1.0, 0.0, -1.0};
  for (const double t : {0.25, 0.5, 1.0, 2.0, 7.0}) {
    INFO("temperature " << t);
    CheckProbs(MakeRow({1.0f, 0.0f, -1.0f}, static_cast<float>(t)).Probs(), Softmax(logits, t));
  }
}

TEST_CASE("Temperature sharpens and flattens the draws over many seeds", "[cpu][sampling]") {
  constexpr int kSeeds = 4000;
  std::vector<double> top_frequency;
  for (const float temperature : {0.5f, 1.0f, 2.0f}) {
    TestRow row = MakeRow({1.0f, 0.0f, -1.0f}, temperature);
    int top = 0;
    for (int seed = 0; seed < kSeeds; ++seed) {
      row.seed = static_cast<uint64_t>(seed);
      top += row.Sample().token == 0 ? 1 : 0;
    }
    top_frequency.push_back(static_cast<double>(top) / kSeeds);
    CHECK(top_frequency.back() == Approx(Softmax({1.0, 0.0, -1.0}, temperature)[0]).margin(0.03));
  }
  CHECK(top_frequency[0] > top_frequency[1] + 0.1);  // 0.87 vs 0.67
  CHECK(top_frequency[1] > top_frequency[2] + 0.1);  // 0.67 vs 0.51
}

TEST_CASE("Greedy takes the argmax, lowest id on ties, whatever the seed", "[cpu][sampling]") {
  TestRow row = MakeRow({1.0f, 5.0f, 5.0f, 2.0f}, 0.0f);
  row.params.top_k = 1;  // ignored by greedy, as are top_p and min_p
  row.params.top_p = 0.01f;
  row.params.min_p = 1.0f;
  CheckProbs(row.Probs(), {0.0, 1.0, 0.0, 0.0});
  for (uint64_t seed = 0; seed < 20; ++seed) {
    row.seed = seed;
    CHECK(row.Sample().token == 1);
  }
  row.logits = {7.0f, 7.0f, 7.0f, 7.0f};
  CHECK(row.Sample().token == 0);
}

// ---- top-k, top-p, min-p ----------------------------------------------------------------------

TEST_CASE("top_k keeps the k largest logits, all ties at the boundary", "[cpu][sampling]") {
  const std::vector<double> logits = {3.0, 1.0, 2.0, 0.0, 2.0};
  const std::vector<double> full = Softmax(logits);
  const auto probs_for = [](int32_t k) {
    TestRow row = MakeRow({3.0f, 1.0f, 2.0f, 0.0f, 2.0f});
    row.params.top_k = k;
    return row.Probs();
  };
  CheckProbs(probs_for(1), {1.0, 0.0, 0.0, 0.0, 0.0});
  CheckProbs(probs_for(2), Restrict(full, {0, 2, 4}));  // ties with the 2nd largest kept
  CheckProbs(probs_for(3), Restrict(full, {0, 2, 4}));
  CheckProbs(probs_for(4), Restrict(full, {0, 1, 2, 4}));
  CheckProbs(probs_for(5), full);
  CheckProbs(probs_for(0), full);    // off
  CheckProbs(probs_for(100), full);  // past the vocabulary: off
}

TEST_CASE("top_p keeps the smallest most-likely prefix reaching p", "[cpu][sampling]") {
  const std::vector<double> p = {0.1, 0.4, 0.2, 0.3};  // order: 1, 3, 2, 0
  const auto probs_for = [&p](float top_p, float temperature) {
    TestRow row = MakeRow(LogsOf(p), temperature);
    row.params.top_p = top_p;
    return row.Probs();
  };
  CheckProbs(probs_for(0.3f, 1.0f), {0.0, 1.0, 0.0, 0.0});
  CheckProbs(probs_for(0.5f, 1.0f), Restrict(p, {1, 3}));
  CheckProbs(probs_for(0.75f, 1.0f), Restrict(p, {1, 2, 3}));
  CheckProbs(probs_for(0.95f, 1.0f), p);
  CheckProbs(probs_for(1.0f, 1.0f), p);
  // After temperature: at T = 0.5 the probabilities are p^2 / 0.3, token 1 alone has 0.53.
  CheckProbs(probs_for(0.5f, 0.5f), {0.0, 1.0, 0.0, 0.0});
}

TEST_CASE("top_p orders equal probabilities by id and stops once p is reached",
          "[cpu][sampling]") {
  TestRow row = MakeRow({0.0f, 0.0f, 0.0f, 0.0f});
  row.params.top_p = 0.5f;  // 0.25 + 0.25 reaches 0.5 exactly: ids 0 and 1 only
  CheckProbs(row.Probs(), {0.5, 0.5, 0.0, 0.0});
  row.params.top_p = 0.51f;
  CheckProbs(row.Probs(), {1.0 / 3, 1.0 / 3, 1.0 / 3, 0.0});
}

TEST_CASE("min_p drops tokens below min_p times the top probability", "[cpu][sampling]") {
  const std::vector<double> p = {0.5, 0.25, 0.15, 0.1};
  const auto probs_for = [&p](float min_p) {
    TestRow row = MakeRow(LogsOf(p));
    row.params.min_p = min_p;
    return row.Probs();
  };
  CheckProbs(probs_for(0.0f), p);
  CheckProbs(probs_for(0.18f), p);                      // threshold 0.09
  CheckProbs(probs_for(0.25f), Restrict(p, {0, 1, 2}));  // threshold 0.125
  CheckProbs(probs_for(0.4f), Restrict(p, {0, 1}));      // threshold 0.2
  CheckProbs(probs_for(0.9f), {1.0, 0.0, 0.0, 0.0});
  TestRow tie = MakeRow({1.0f, 1.0f, 0.0f});
  tie.params.min_p = 1.0f;  // the threshold itself is kept
  CheckProbs(tie.Probs(), {0.5, 0.5, 0.0});
}

// ---- Penalties, bias, min_tokens ---------------------------------------------------------------

TEST_CASE("repetition_penalty divides positive and multiplies negative logits once",
          "[cpu][sampling]") {
  TestRow row = MakeRow({2.0f, -1.0f, 0.5f, 3.0f, 1.0f});
  row.prompt = {0, 0};
  row.output = {1, 3, 1};
  row.params.repetition_penalty = 2.0f;
  CheckProbs(row.Probs(), Softmax({1.0, -2.0, 0.5, 1.5, 1.0}));
  row.params.repetition_penalty = 0.5f;
  CheckProbs(row.Probs(), Softmax({4.0, -0.5, 0.5, 6.0, 1.0}));
  row.params.repetition_penalty = 1.0f;
  CheckProbs(row.Probs(), Softmax({2.0, -1.0, 0.5, 3.0, 1.0}));
}

TEST_CASE("frequency and presence penalties subtract over output tokens only",
          "[cpu][sampling]") {
  TestRow row = MakeRow({1.0f, 1.0f, 1.0f, 1.0f});
  row.prompt = {0, 0, 3};
  row.output = {2, 2, 2, 1};
  row.params.frequency_penalty = 0.5f;
  CheckProbs(row.Probs(), Softmax({1.0, 0.5, -0.5, 1.0}));
  row.params.frequency_penalty = -0.5f;
  CheckProbs(row.Probs(), Softmax({1.0, 1.5, 2.5, 1.0}));
  row.params.frequency_penalty = 0.0f;
  row.params.presence_penalty = 1.0f;
  CheckProbs(row.Probs(), Softmax({1.0, 0.0, 0.0, 1.0}));
  row.params.frequency_penalty = 0.5f;
  row.params.presence_penalty = 0.25f;
  CheckProbs(row.Probs(), Softmax({1.0, 0.25, -0.75, 1.0}));
}

TEST_CASE("logit_bias adds to the logits, for sampling and greedy", "[cpu][sampling]") {
  TestRow row = MakeRow({0.0f, 0.0f, 0.0f, 0.0f});
  row.params.logit_bias = {{1, 2.5f}, {3, -100.0f}};
  CheckProbs(row.Probs(), Softmax({0.0, 2.5, 0.0, -100.0}));
  row.params.temperature = 0.0f;
  CHECK(row.Sample().token == 1);
}

TEST_CASE("Processing order: bias, then repetition penalty, then temperature",
          "[cpu][sampling]") {
  TestRow row = MakeRow({1.0f, -0.5f}, 0.5f);
  row.prompt = {1};
  row.params.logit_bias = {{1, 1.0f}};     // -0.5 + 1 = 0.5 > 0: divided by the penalty
  row.params.repetition_penalty = 2.0f;    // (penalty first would give -1 + 1 = 0)
  CheckProbs(row.Probs(), Softmax({1.0, 0.25}, 0.5));
}

TEST_CASE("min_tokens masks eos and stop ids until reached", "[cpu][sampling]") {
  TestRow row = MakeRow({0.0f, 1.0f, 2.0f, 3.0f, 4.0f});
  row.eos = {4};
  row.params.stop_token_ids = {3};
  row.params.min_tokens = 2;
  const std::vector<double> masked = Softmax({0.0, 1.0, 2.0, -kInf, -kInf});
  const std::vector<double> open = Softmax({0.0, 1.0, 2.0, 3.0, 4.0});
  CheckProbs(row.Probs(), masked);
  row.output = {0};
  CheckProbs(row.Probs(), masked);
  row.output = {0, 0};
  CheckProbs(row.Probs(), open);

  row.params.temperature = 0.0f;
  row.output = {1};
  CHECK(row.Sample().token == 2);
  row.output = {1, 1};
  CHECK(row.Sample().token == 4);
}

TEST_CASE("ignore_eos leaves eos unmasked under min_tokens, stop ids stay masked",
          "[cpu][sampling]") {
  TestRow row = MakeRow({0.0f, 1.0f, 2.0f, 3.0f, 4.0f});
  row.eos = {4};
  row.params.stop_token_ids = {3};
  row.params.min_tokens = 2;
  row.params.ignore_eos = true;
  CheckProbs(row.Probs(), Softmax({0.0, 1.0, 2.0, -kInf, 4.0}));
  row.params.temperature = 0.0f;
  CHECK(row.Sample().token == 4);
}

// ---- Logprobs -----------------------------------------------------------------------------------

TEST_CASE("Logprobs, rank and top_logprobs are of the raw logits", "[cpu][sampling]") {
  const std::vector<double> raw = {1.0, 3.0, 3.0, 0.0, 2.0};
  double sum = 0.0;
  for (const double x : raw) sum += std::exp(x);
  const double lse = std::log(sum);
  TestRow row = MakeRow({1.0f, 3.0f, 3.0f, 0.0f, 2.0f}, 0.0f);
  row.params.logit_bias = {{0, 10.0f}};  // greedy now takes token 0; logprobs ignore the bias
  row.params.repetition_penalty = 1.7f;
  row.prompt = {1, 4};
  row.params.top_logprobs = 3;
  SampledToken sampled = row.Sample();
  CHECK(sampled.token == 0);
  CHECK(sampled.logprob == Approx(1.0 - lse).margin(1e-6));
  CHECK(sampled.rank == 4);  // 3, 3 and 2 are larger
  REQUIRE(sampled.top_logprobs.size() == 3);
  CHECK(sampled.top_logprobs[0].token == 1);  // ties: lower id first
  CHECK(sampled.top_logprobs[1].token == 2);
  CHECK(sampled.top_logprobs[2].token == 4);
  CHECK(sampled.top_logprobs[0].logprob == Approx(3.0 - lse).margin(1e-6));
  CHECK(sampled.top_logprobs[1].logprob == Approx(3.0 - lse).margin(1e-6));
  CHECK(sampled.top_logprobs[2].logprob == Approx(2.0 - lse).margin(1e-6));

  row.params.logit_bias = {{2, 1.0f}};
  sampled = row.Sample();
  CHECK(sampled.token == 2);
  CHECK(sampled.rank == 1);  // tied for the largest raw logit

  row.params.top_logprobs = kMaxTopLogprobs;  // more than the vocabulary: all of it
  sampled = row.Sample();
  REQUIRE(sampled.top_logprobs.size() == 5);
  const std::vector<int32_t> order = {1, 2, 4, 0, 3};
  for (size_t i = 0; i < order.size(); ++i) CHECK(sampled.top_logprobs[i].token == order[i]);
  row.params.top_logprobs = 0;
  CHECK(row.Sample().top_logprobs.empty());
}

TEST_CASE("Logprobs stay finite for large logits", "[cpu][sampling]") {
  TestRow row = MakeRow({1000.0f, 999.0f, -1000.0f}, 0.0f);
  const SampledToken sampled = row.Sample();
  CHECK(sampled.token == 0);
  CHECK(sampled.logprob == Approx(-std::log1p(std::exp(-1.0))).margin(1e-6));
  CHECK(sampled.rank == 1);
}

// ---- Degenerate rows ---------------------------------------------------------------------------

TEST_CASE("Every token masked: fall back to the raw logits", "[cpu][sampling]") {
  TestRow row = MakeRow({1.0f, 2.0f});
  row.eos = {0};
  row.params.stop_token_ids = {1};
  row.params.min_tokens = 3;
  CheckProbs(row.Probs(), Softmax({1.0, 2.0}));
  row.params.temperature = 0.0f;
  CHECK(row.Sample().token == 1);
}

TEST_CASE("A row of -inf logits falls back to uniform", "[cpu][sampling]") {
  const float neg_inf = -std::numeric_limits<float>::infinity();
  TestRow row = MakeRow({neg_inf, neg_inf, neg_inf, neg_inf});
  CheckProbs(row.Probs(), {0.25, 0.25, 0.25, 0.25});
  const SampledToken sampled = row.Sample();
  CHECK(sampled.logprob == Approx(std::log(0.25)).margin(1e-6));
  CHECK(sampled.rank == 1);
}

TEST_CASE("Extreme values never give NaN", "[cpu][sampling]") {
  const float big = std::numeric_limits<float>::max();
  const auto check_finite_distribution = [](const std::vector<float>& probs) {
    double sum = 0.0;
    for (const float p : probs) {
      REQUIRE(std::isfinite(p));
      REQUIRE(p >= 0.0f);
      sum += p;
    }
    CHECK(sum == Approx(1.0).margin(1e-6));
  };
  check_finite_distribution(MakeRow({big, big, -big}).Probs());
  CheckProbs(MakeRow({big, big, -big}).Probs(), {0.5, 0.5, 0.0});
  CheckProbs(MakeRow({1.0f, 1.0001f, 0.0f}, 1e-30f).Probs(), {0.0, 1.0, 0.0});
  // A tiny repetition penalty overflows a positive logit to +inf: it takes all the mass.
  TestRow overflow = MakeRow({10.0f, 20.0f, -5.0f});
  overflow.prompt = {0};
  overflow.params.repetition_penalty = 1e-38f;
  CheckProbs(overflow.Probs(), {1.0, 0.0, 0.0});
  CHECK(std::isfinite(overflow.Sample().logprob));
}

TEST_CASE("Probabilities sum to one under every knob", "[cpu][sampling]") {
  TestRow row = MakeRow({0.3f, -2.0f, 1.7f, 0.9f, 0.0f, 2.2f, -0.4f, 1.1f}, 1.3f);
  row.params.top_k = 6;
  row.params.top_p = 0.8f;
  row.params.min_p = 0.05f;
  row.params.repetition_penalty = 1.2f;
  row.params.presence_penalty = 0.3f;
  row.params.frequency_penalty = 0.2f;
  row.prompt = {0, 1, 2};
  row.output = {2, 5, 5};
  double sum = 0.0;
  for (const float p : row.Probs()) sum += p;
  CHECK(sum == Approx(1.0).margin(1e-6));
}

}  // namespace
}  // namespace specd
