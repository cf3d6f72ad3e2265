// The rejection sampler keeps the target's distribution (Leviathan et al. 2023): over many seeded
// requests, the first two output tokens of speculative decoding (whichever path decided them:
// accepted draft, residual draw, bonus) follow the target's rows by chi-square tests, for a draft
// model's q and for one-hot q. A deliberately broken acceptance rule fails the same tests, so
// they can tell a wrong sampler.
//
// The target's rows depend on nothing but the output position n, so the first two tokens are
// independent with laws P_0 and P_1: the first token is tested against P_0 over 6 cells, the
// second given the first against P_1 over 6 x 6 cells (N_a P_1(b) expected in cell (a, b)).
#include "engine/spec/rejection_sampler.h"

#include <array>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace specd {
namespace {

constexpr int kVocab = 6;
constexpr int kNumPositions = 5;  // rows for positions 0 .. 1 + k, k <= 3
constexpr int kNumTrials = 20000;
constexpr uint64_t kFirstSeed = 1000;      // trial t is the request with seed kFirstSeed + t
constexpr uint64_t kDraftRngSalt = 0x5EED;  // the test's draft model draws apart from the sampler
constexpr double kTwoPowMinus53 = 1.0 / 9007199254740992.0;

// Upper 0.1% quantiles of the chi-square distribution (significance 0.001).
constexpr double kCritical5 = 20.515;   // 5 degrees of freedom: first token, 6 cells
constexpr double kCritical30 = 59.703;  // 30: second token given the first, 6 x (6 - 1)

using Row = std::array<double, kVocab>;

// The target's distribution at output position n.
constexpr std::array<Row, kNumPositions> kTarget = {{
    {0.30, 0.05, 0.20, 0.10, 0.25, 0.10},
    {0.10, 0.35, 0.05, 0.20, 0.15, 0.15},
    {0.25, 0.15, 0.15, 0.15, 0.20, 0.10},
    {0.05, 0.20, 0.30, 0.10, 0.10, 0.25},
    {0.20, 0.10, 0.10, 0.30, 0.20, 0.10},
}};

// A draft model's distribution at position n: unlike the target's, with q = 0 where p > 0.
constexpr std::array<Row, kNumPositions - 1> kDraftModel = {{
    {0.10, 0.30, 0.20, 0.25, 0.15, 0.00},
    {0.30, 0.20, 0.20, 0.10, 0.10, 0.10},
    {0.05, 0.05, 0.40, 0.20, 0.30, 0.00},
    {0.20, 0.20, 0.10, 0.30, 0.10, 0.10},
}};

// A deterministic (n-gram style) proposer's draft at position n.
constexpr std::array<int32_t, kNumPositions - 1> kOneHotDrafts = {0, 3, 1, 2};

enum class Proposal { kDraftModel, kOneHot };

using Verifier = std::vector<int32_t> (*)(const VerifyInput&);

std::vector<int32_t> VerifyWithSampler(const VerifyInput& input) {
  std::vector<int32_t> tokens;
  for (const SampledToken& sampled : VerifyDrafts(input)) tokens.push_back(sampled.token);
  return tokens;
}

// NEGATIVE CONTROL, deliberately wrong: accepts with min(1, p/q) like the real rule but draws a
// rejected position from p instead of normalize(max(0, p - q)), which skews the output toward q.
std::vector<int32_t> VerifyResamplingFromTarget(const VerifyInput& input) {
  const size_t k = input.draft_tokens.size();
  std::vector<int32_t> history(input.sampling.output_token_ids.begin(),
                               input.sampling.output_token_ids.end());
  std::vector<int32_t> tokens;
  for (size_t i = 0; i <= k; ++i) {
    SamplingRow row = input.sampling;
    row.logits = input.target_logits.subspan(i * kVocab, kVocab);
    row.output_token_ids = history;
    const std::vector<float> p = Sampler::Probabilities(row);
    const std::vector<double> p_double(p.begin(), p.end());
    const uint64_t n = history.size();
    if (i == k) {
      tokens.push_back(Sampler::InverseCdf(p_double, Sampler::Uniform(input.sampling.seed, n)));
      break;
    }
    const int32_t draft = input.draft_tokens[i];
    const double q = input.draft_probs.empty() ? 1.0 : input.draft_probs[i * kVocab + draft];
    if (Sampler::Uniform(input.sampling.seed, n, 1) < std::min(1.0, p[draft] / q)) {
      tokens.push_back(draft);
      history.push_back(draft);
      continue;
    }
    tokens.push_back(Sampler::InverseCdf(p_double, Sampler::Uniform(input.sampling.seed, n, 2)));
    break;
  }
  return tokens;
}

std::vector<float> Logits(const Row& probs) {
  std::vector<float> logits;
  for (const double p : probs) logits.push_back(static_cast<float>(std::log(p)));
  return logits;
}

// P_n as the sampler sees it: Sampler::Probabilities of the target row.
std::vector<double> TargetProbs(int n) {
  const SamplingParams params;
  const std::vector<float> logits = Logits(kTarget[n]);
  SamplingRow row;
  row.logits = logits;
  row.params = &params;
  const std::vector<float> probs = Sampler::Probabilities(row);
  return std::vector<double>(probs.begin(), probs.end());
}

double DrawUniform(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * kTwoPowMinus53;
}

// One request: speculative steps with k drafts until at least two tokens are out.
class TrialRunner {
 public:
  TrialRunner(Verifier verify, Proposal proposal, int k)
      : verify_(verify), proposal_(proposal), k_(k) {
    for (const Row& probs : kTarget) {
      const std::vector<float> row = Logits(probs);
      target_logits_.insert(target_logits_.end(), row.begin(), row.end());
    }
  }

  std::vector<int32_t> FirstTwoTokens(uint64_t seed) const {
    std::mt19937_64 draft_rng(seed ^ kDraftRngSalt);
    std::vector<int32_t> output;
    while (output.size() < 2) {
      const std::vector<int32_t> step = Step(seed, output, draft_rng);
      output.insert(output.end(), step.begin(), step.end());
    }
    return output;
  }

 private:
  std::vector<int32_t> Step(uint64_t seed, const std::vector<int32_t>& output,
                            std::mt19937_64& draft_rng) const {
    const int n = static_cast<int>(output.size());
    std::vector<int32_t> drafts;
    std::vector<float> draft_probs;
    for (int i = 0; i < k_; ++i) {
      if (proposal_ == Proposal::kOneHot) {
        drafts.push_back(kOneHotDrafts[n + i]);
        continue;
      }
      const Row& q = kDraftModel[n + i];
      drafts.push_back(Sampler::InverseCdf(q, DrawUniform(draft_rng)));
      draft_probs.insert(draft_probs.end(), q.begin(), q.end());
    }
    const SamplingParams params;  // temperature 1, nothing else
    VerifyInput input;
    input.target_logits = std::span<const float>(target_logits_).subspan(n * kVocab,
                                                                         (k_ + 1) * kVocab);
    input.sampling.params = &params;
    input.sampling.seed = seed;
    input.sampling.output_token_ids = output;
    input.draft_tokens = drafts;
    input.draft_probs = draft_probs;
    input.vocab_size = kVocab;
    return verify_(input);
  }

  Verifier verify_;
  Proposal proposal_;
  int k_;
  std::vector<float> target_logits_;  // [kNumPositions, kVocab]: row n is position n
};

struct ChiSquare {
  double first = 0.0;               // first token vs P_0, 5 degrees of freedom
  double second_given_first = 0.0;  // second token given the first vs P_1, 30
};

ChiSquare RunTrials(Verifier verify, Proposal proposal, int k) {
  const TrialRunner runner(verify, proposal, k);
  std::array<std::array<double, kVocab>, kVocab> joint = {};
  for (int t = 0; t < kNumTrials; ++t) {
    const std::vector<int32_t> tokens = runner.FirstTwoTokens(kFirstSeed + t);
    joint[tokens[0]][tokens[1]] += 1.0;
  }
  const std::vector<double> p0 = TargetProbs(0);
  const std::vector<double> p1 = TargetProbs(1);
  ChiSquare chi;
  for (int a = 0; a < kVocab; ++a) {
    double count_a = 0.0;
    for (const double count : joint[a]) count_a += count;
    const double expected_a = kNumTrials * p0[a];
    chi.first += (count_a - expected_a) * (count_a - expected_a) / expected_a;
    for (int b = 0; b < kVocab; ++b) {
      const double expected = count_a * p1[b];
      chi.second_given_first += (joint[a][b] - expected) * (joint[a][b] - expected) / expected;
    }
  }
  return chi;
}

TEST_CASE("Verification keeps the target's distribution: draft model q, k = 3",
          "[cpu][spec]") {
  const ChiSquare chi = RunTrials(VerifyWithSampler, Proposal::kDraftModel, 3);
  CHECK(chi.first < kCritical5);
  CHECK(chi.second_given_first < kCritical30);
}

TEST_CASE("Verification keeps the target's distribution: draft model q, k = 1 (bonus)",
          "[cpu][spec]") {
  const ChiSquare chi = RunTrials(VerifyWithSampler, Proposal::kDraftModel, 1);
  CHECK(chi.first < kCritical5);
  CHECK(chi.second_given_first < kCritical30);
}

TEST_CASE("Verification keeps the target's distribution: one-hot q, k = 3", "[cpu][spec]") {
  const ChiSquare chi = RunTrials(VerifyWithSampler, Proposal::kOneHot, 3);
  CHECK(chi.first < kCritical5);
  CHECK(chi.second_given_first < kCritical30);
}

TEST_CASE("Negative control: resampling rejections from p fails the same test", "[cpu][spec]") {
  const ChiSquare draft_model = RunTrials(VerifyResamplingFromTarget, Proposal::kDraftModel, 3);
  CHECK(draft_model.first > kCritical5);
  CHECK(draft_model.second_given_first > kCritical30);
  const ChiSquare one_hot = RunTrials(VerifyResamplingFromTarget, Proposal::kOneHot, 3);
  CHECK(one_hot.first > kCritical5);
  CHECK(one_hot.second_given_first > kCritical30);
}

}  // namespace
}  // namespace specd
