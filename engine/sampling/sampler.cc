// Sampler (see sampler.h): the CPU reference of sampling. Stateless; any thread may call it.
//
// Exact definition, which the GPU twin must reproduce (vLLM's order; V = vocab size, row
// n = output_token_ids.size()):
//
//  1. l = logits (float32).  l[t] += logit_bias[t].
//  2. n < min_tokens: l[t] = -inf for t in stop_token_ids, and for t in eos_token_ids unless
//     ignore_eos (with ignore_eos eos stays sampleable; stopping on it is not ours to decide).
//  3. repetition_penalty r, once per distinct token of prompt + output:
//     l[t] = l[t] > 0 ? l[t] / r : l[t] * r.
//  4. For t with count_output(t) > 0: l[t] -= frequency_penalty * count_output(t), then
//     l[t] -= presence_penalty (two float subtractions, as vLLM's).
//  5. Sanitize: NaN -> -inf, +inf -> FLT_MAX. If no l[t] is finite (say min_tokens masked the
//     whole vocabulary), l = the raw logits, sanitized; if those have no finite value either,
//     l = 0 everywhere (uniform). So a finite row never yields NaN and something is always drawn.
//  6. Greedy (temperature 0): the token is argmax l, the lowest id on ties; the distribution is
//     one-hot. Steps 7-10 are skipped.
//  7. top-k (k > 0 and k < V): keep t iff l[t] >= the k-th largest l (ties at the boundary are
//     all kept, as vLLM's threshold compare does). Compared on l, before the temperature
//     division, which does not change the order.
//  8. temperature T: w[t] = exp((double(l[t]) - double(l_max)) / T) for kept t, else 0 (double).
//  9. top-p (p < 1): order kept tokens by l descending, id ascending; keep a token iff the sum
//     of w over the tokens before it in that order is < p * S, S = sum of kept w (id order).
//     (That is vLLM's "drop where the ascending cumulative probability <= 1 - p".)
// 10. min-p (m > 0): keep t iff w[t] >= m * max w.
// 11. prob[t] = w[t] / S, S = sum of w in id order (double).
// 12. Draw: u = Uniform(seed, n, 0); the token is the smallest id t with prob[t] > 0 and
//     u < C[t], C[t] = prob[0] + ... + prob[t] accumulated in id order in double; if rounding
//     leaves u >= C[V-1], the largest id with prob > 0.
//
// Logprobs are of the raw row: logprob[t] = x[t] - (x_max + log(sum exp(x - x_max))) in double,
// x = the raw logits sanitized as in step 5 (all -inf: x = 0, log(1/V) each).
#include "engine/sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace specd {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr float kMaxFloat = std::numeric_limits<float>::max();

// SplitMix64 (Steele, Lea and Flood 2014): its increment and output mix.
constexpr uint64_t kSplitMixGamma = 0x9E3779B97F4A7C15ULL;
constexpr uint64_t kSplitMixMul1 = 0xBF58476D1CE4E5B9ULL;
constexpr uint64_t kSplitMixMul2 = 0x94D049BB133111EBULL;
constexpr int kMantissaBits = 53;  // of a double
constexpr double kInvTwoPow53 = 1.0 / static_cast<double>(uint64_t{1} << kMantissaBits);

uint64_t SplitMix(uint64_t z) {
  z = (z ^ (z >> 30)) * kSplitMixMul1;
  z = (z ^ (z >> 27)) * kSplitMixMul2;
  return z ^ (z >> 31);
}

int64_t VocabSize(const SamplingRow& row) { return static_cast<int64_t>(row.logits.size()); }

// A token id taken from the row itself (prompt, output, eos, params): validated upstream.
void CheckTokenId(int32_t token, int64_t vocab_size, const char* what) {
  SPECD_CHECK(token >= 0 && token < vocab_size)
      << what << " token id " << token << " outside the vocabulary of " << vocab_size;
}

void CheckRow(const SamplingRow& row) {
  SPECD_CHECK(row.params != nullptr) << "SamplingRow without params";
  SPECD_CHECK(!row.logits.empty()) << "SamplingRow with an empty logits row";
}

void ApplyLogitBias(const SamplingRow& row, std::vector<float>& logits) {
  for (const auto& [token, bias] : row.params->logit_bias) {
    CheckTokenId(token, VocabSize(row), "logit_bias");
    logits[token] += bias;
  }
}

void ApplyMinTokens(const SamplingRow& row, std::vector<float>& logits) {
  const SamplingParams& params = *row.params;
  if (static_cast<int64_t>(row.output_token_ids.size()) >= params.min_tokens) return;
  for (const int32_t token : params.stop_token_ids) {
    CheckTokenId(token, VocabSize(row), "stop_token_ids");
    logits[token] = kNegInf;
  }
  if (params.ignore_eos) return;
  for (const int32_t token : row.eos_token_ids) {
    CheckTokenId(token, VocabSize(row), "eos");
    logits[token] = kNegInf;
  }
}

void ApplyRepetitionPenalty(const SamplingRow& row, std::vector<float>& logits) {
  const float penalty = row.params->repetition_penalty;
  if (penalty == 1.0f) return;
  std::vector<bool> seen(logits.size(), false);
  for (const auto ids : {row.prompt_token_ids, row.output_token_ids}) {
    for (const int32_t token : ids) {
      CheckTokenId(token, VocabSize(row), "prompt/output");
      if (seen[token]) continue;
      seen[token] = true;
      logits[token] = logits[token] > 0.0f ? logits[token] / penalty : logits[token] * penalty;
    }
  }
}

void ApplyPresenceFrequencyPenalties(const SamplingRow& row, std::vector<float>& logits) {
  const float presence = row.params->presence_penalty;
  const float frequency = row.params->frequency_penalty;
  if (presence == 0.0f && frequency == 0.0f) return;
  std::vector<int32_t> counts(logits.size(), 0);
  for (const int32_t token : row.output_token_ids) {
    CheckTokenId(token, VocabSize(row), "output");
    ++counts[token];
  }
  for (size_t t = 0; t < logits.size(); ++t) {
    if (counts[t] == 0) continue;
    logits[t] -= frequency * static_cast<float>(counts[t]);
    logits[t] -= presence;
  }
}

// NaN -> -inf, +inf -> FLT_MAX; true if some value is finite afterwards.
bool Sanitize(std::vector<float>& logits) {
  bool any_finite = false;
  for (float& value : logits) {
    if (std::isnan(value)) value = kNegInf;
    if (value == std::numeric_limits<float>::infinity()) value = kMaxFloat;
    any_finite = any_finite || value != kNegInf;
  }
  return any_finite;
}

// The raw row with step 5's fallbacks applied.
std::vector<float> SanitizedRaw(const SamplingRow& row) {
  std::vector<float> raw(row.logits.begin(), row.logits.end());
  if (!Sanitize(raw)) std::fill(raw.begin(), raw.end(), 0.0f);
  return raw;
}

// Steps 1-5.
std::vector<float> ProcessedLogits(const SamplingRow& row) {
  std::vector<float> logits(row.logits.begin(), row.logits.end());
  ApplyLogitBias(row, logits);
  ApplyMinTokens(row, logits);
  ApplyRepetitionPenalty(row, logits);
  ApplyPresenceFrequencyPenalties(row, logits);
  if (!Sanitize(logits)) return SanitizedRaw(row);
  return logits;
}

// The lowest id among the largest values.
int32_t Argmax(const std::vector<float>& values) {
  return static_cast<int32_t>(std::max_element(values.begin(), values.end()) - values.begin());
}

// Step 7: the keep mask of top-k.
std::vector<bool> TopKMask(const std::vector<float>& logits, int32_t top_k) {
  std::vector<bool> keep(logits.size(), true);
  if (top_k <= 0 || static_cast<size_t>(top_k) >= logits.size()) return keep;
  std::vector<float> sorted = logits;
  std::nth_element(sorted.begin(), sorted.begin() + (top_k - 1), sorted.end(), std::greater<>());
  const float threshold = sorted[top_k - 1];
  for (size_t t = 0; t < logits.size(); ++t) keep[t] = logits[t] >= threshold;
  return keep;
}

// Step 8.
std::vector<double> TemperatureWeights(const std::vector<float>& logits,
                                       const std::vector<bool>& keep, float temperature) {
  const double max_logit = logits[Argmax(logits)];
  std::vector<double> weights(logits.size(), 0.0);
  for (size_t t = 0; t < logits.size(); ++t) {
    if (keep[t]) weights[t] = std::exp((static_cast<double>(logits[t]) - max_logit) / temperature);
  }
  return weights;
}

double SumInIdOrder(const std::vector<double>& weights) {
  return std::accumulate(weights.begin(), weights.end(), 0.0);
}

// Step 9 (in place on the weights).
void ApplyTopP(const std::vector<float>& logits, float top_p, std::vector<double>& weights) {
  if (top_p >= 1.0f) return;
  std::vector<int32_t> order;
  for (size_t t = 0; t < weights.size(); ++t) {
    if (weights[t] > 0.0) order.push_back(static_cast<int32_t>(t));
  }
  std::sort(order.begin(), order.end(), [&logits](int32_t a, int32_t b) {
    return logits[a] != logits[b] ? logits[a] > logits[b] : a < b;
  });
  const double limit = static_cast<double>(top_p) * SumInIdOrder(weights);
  double mass_before = 0.0;
  for (const int32_t token : order) {
    const double weight = weights[token];
    if (!(mass_before < limit)) weights[token] = 0.0;
    mass_before += weight;
  }
}

// Step 10 (in place on the weights).
void ApplyMinP(float min_p, std::vector<double>& weights) {
  if (min_p <= 0.0f) return;
  const double threshold = min_p * *std::max_element(weights.begin(), weights.end());
  for (double& weight : weights) {
    if (weight < threshold) weight = 0.0;
  }
}

// Steps 6-11 in double.
std::vector<double> ProbabilitiesInDouble(const SamplingRow& row) {
  const SamplingParams& params = *row.params;
  const std::vector<float> logits = ProcessedLogits(row);
  std::vector<double> probs;
  if (params.greedy()) {
    probs.assign(logits.size(), 0.0);
    probs[Argmax(logits)] = 1.0;
    return probs;
  }
  probs = TemperatureWeights(logits, TopKMask(logits, params.top_k), params.temperature);
  ApplyTopP(logits, params.top_p, probs);
  ApplyMinP(params.min_p, probs);
  const double sum = SumInIdOrder(probs);
  for (double& p : probs) p /= sum;
  return probs;
}

// log_softmax of the raw row; rank and top alternatives.
class RawLogprobs {
 public:
  explicit RawLogprobs(const SamplingRow& row) : logits_(SanitizedRaw(row)) {
    const double max_logit = logits_[Argmax(logits_)];
    double sum = 0.0;
    for (const float x : logits_) sum += std::exp(static_cast<double>(x) - max_logit);
    log_normalizer_ = max_logit + std::log(sum);
  }

  float Logprob(int32_t token) const {
    return static_cast<float>(static_cast<double>(logits_[token]) - log_normalizer_);
  }

  int32_t Rank(int32_t token) const {
    const float x = logits_[token];
    return 1 + static_cast<int32_t>(std::count_if(logits_.begin(), logits_.end(),
                                                  [x](float other) { return other > x; }));
  }

  std::vector<TokenLogprob> Top(int32_t count) const {
    const size_t n = std::min(logits_.size(), static_cast<size_t>(std::max(count, 0)));
    if (n == 0) return {};
    std::vector<int32_t> ids(logits_.size());
    std::iota(ids.begin(), ids.end(), 0);
    std::partial_sort(ids.begin(), ids.begin() + n, ids.end(), [this](int32_t a, int32_t b) {
      return logits_[a] != logits_[b] ? logits_[a] > logits_[b] : a < b;
    });
    std::vector<TokenLogprob> top;
    for (size_t i = 0; i < n; ++i) top.push_back({ids[i], Logprob(ids[i])});
    return top;
  }

 private:
  std::vector<float> logits_;  // [vocab], sanitized raw logits
  double log_normalizer_ = 0.0;
};

}  // namespace

SampledToken Sampler::Sample(const SamplingRow& row) {
  CheckRow(row);
  const std::vector<double> probs = ProbabilitiesInDouble(row);
  const int32_t token =
      row.params->greedy()
          ? static_cast<int32_t>(std::max_element(probs.begin(), probs.end()) - probs.begin())
          : InverseCdf(probs, Uniform(row.seed, row.output_token_ids.size()));
  return Score(row, token);
}

SampledToken Sampler::Score(const SamplingRow& row, int32_t token) {
  CheckRow(row);
  CheckTokenId(token, VocabSize(row), "scored");
  const RawLogprobs raw(row);
  SampledToken scored;
  scored.token = token;
  scored.logprob = raw.Logprob(token);
  scored.rank = raw.Rank(token);
  scored.top_logprobs = raw.Top(row.params->top_logprobs);
  return scored;
}

// Step 12.
int32_t Sampler::InverseCdf(std::span<const double> probs, double u) {
  double cumulative = 0.0;
  int32_t last_positive = -1;
  for (size_t t = 0; t < probs.size(); ++t) {
    if (probs[t] <= 0.0) continue;
    cumulative += probs[t];
    last_positive = static_cast<int32_t>(t);
    if (u < cumulative) return last_positive;
  }
  SPECD_CHECK(last_positive >= 0) << "sampling distribution without mass";
  return last_positive;
}

std::vector<float> Sampler::Probabilities(const SamplingRow& row) {
  CheckRow(row);
  const std::vector<double> probs = ProbabilitiesInDouble(row);
  return std::vector<float>(probs.begin(), probs.end());
}

// key = SplitMix(SplitMix(seed + G) + (stream + 1) * G); bits = SplitMix(key + (position + 1) * G)
// (mod 2^64, G = kSplitMixGamma): for one (seed, stream), position n gets output n + 1 of a
// SplitMix64 generator whose state starts at key. The top 53 bits make the double.
double Sampler::Uniform(uint64_t seed, uint64_t position, uint64_t stream) {
  const uint64_t key = SplitMix(SplitMix(seed + kSplitMixGamma) + (stream + 1) * kSplitMixGamma);
  const uint64_t bits = SplitMix(key + (position + 1) * kSplitMixGamma);
  return static_cast<double>(bits >> (64 - kMantissaBits)) * kInvTwoPow53;
}

}  // namespace specd
