// Rejection sampler (see rejection_sampler.h): verifies one request's drafts on the CPU, for the
// CPU runner (a GPU twin must emit the same tokens). Stateless; any thread may call it.
//
// Exact definition (k drafts d_1..d_k, m = output_token_ids.size(); "row i" is target_logits
// row i as a SamplingRow whose output history is the output so far followed by d_1..d_i, so
// penalties and min_tokens count the drafts accepted before it):
//
//   output: o_0 .. o_{m-1} | d_1   d_2  ...  d_k
//   row:                   0     1     2  ...  k      row i decides output position n = m + i
//
//  greedy:  for i = 0..k: t = Sampler::Sample(row i) (the argmax after bias, masking, penalties);
//           emit t; stop when i == k or t != d_{i+1}.
//  sampled: for i = 0..k-1, n = m + i, d = d_{i+1}:
//             p = Sampler::Probabilities(row i); q = draft_probs row i, or one-hot on d
//             (both read as double).
//             Accept iff q(d) > 0 and Uniform(seed, n, 1) < min(1, p(d) / q(d)): emit d, go on.
//             Otherwise r(t) = max(0, p(t) - q(t)); if sum r (id order) is not > 0 (p == q up to
//             rounding) r = p; emit Sampler::InverseCdf(r / sum r, Uniform(seed, n, 2)); stop.
//           All k accepted: emit Sampler::Sample(row k), the bonus, drawn with
//           Uniform(seed, m + k, 0) exactly as plain sampling draws that position.
// Every emitted token carries Sampler::Score of the row that decided it (raw logprobs).
#include "engine/spec/rejection_sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "engine/base/check.h"

namespace specd {
namespace {

constexpr uint64_t kAcceptStream = 1;    // Uniform stream of the accept test
constexpr uint64_t kResidualStream = 2;  // Uniform stream of the draw after a rejection

int64_t NumDrafts(const VerifyInput& input) {
  return static_cast<int64_t>(input.draft_tokens.size());
}

void CheckInput(const VerifyInput& input) {
  const int64_t vocab = input.vocab_size;
  const int64_t k = NumDrafts(input);
  SPECD_CHECK(vocab > 0) << "VerifyInput without a vocabulary";
  SPECD_CHECK(input.sampling.params != nullptr) << "VerifyInput without sampling params";
  SPECD_CHECK(static_cast<int64_t>(input.target_logits.size()) == (k + 1) * vocab)
      << "target_logits has " << input.target_logits.size() << " values, want (" << k
      << " + 1) x " << vocab;
  SPECD_CHECK(input.draft_probs.empty() ||
              static_cast<int64_t>(input.draft_probs.size()) == k * vocab)
      << "draft_probs has " << input.draft_probs.size() << " values, want " << k << " x "
      << vocab;
  for (const int32_t token : input.draft_tokens) {
    SPECD_CHECK(token >= 0 && token < vocab)
        << "draft token " << token << " outside the vocabulary of " << vocab;
  }
}

// The output so far followed by all drafts; row i reads its first m + i entries.
std::vector<int32_t> HistoryWithDrafts(const VerifyInput& input) {
  std::vector<int32_t> history(input.sampling.output_token_ids.begin(),
                               input.sampling.output_token_ids.end());
  history.insert(history.end(), input.draft_tokens.begin(), input.draft_tokens.end());
  return history;
}

// Target row i (0..k) with d_1..d_i counted as output.
SamplingRow TargetRow(const VerifyInput& input, std::span<const int32_t> history, int64_t i) {
  SamplingRow row = input.sampling;
  row.logits = input.target_logits.subspan(i * input.vocab_size, input.vocab_size);
  row.output_token_ids = history.first(input.sampling.output_token_ids.size() + i);
  return row;
}

// q for draft i (0-based) in double: draft_probs row i, or one-hot on the draft.
std::vector<double> DraftDistribution(const VerifyInput& input, int64_t i) {
  if (input.draft_probs.empty()) {
    std::vector<double> one_hot(input.vocab_size, 0.0);
    one_hot[input.draft_tokens[i]] = 1.0;
    return one_hot;
  }
  const std::span<const float> row = input.draft_probs.subspan(i * input.vocab_size,
                                                               input.vocab_size);
  for (const float q : row) {
    SPECD_CHECK(q >= 0.0f && std::isfinite(q)) << "draft probability " << q << " of draft " << i;
  }
  return std::vector<double>(row.begin(), row.end());
}

// u < min(1, p(d) / q(d)); a draft the draft distribution calls impossible is rejected.
bool AcceptDraft(std::span<const float> p, std::span<const double> q, int32_t draft, double u) {
  if (!(q[draft] > 0.0)) return false;
  return u < std::min(1.0, static_cast<double>(p[draft]) / q[draft]);
}

// normalize(max(0, p - q)); normalize(p) when rounding leaves the difference without mass.
std::vector<double> ResidualDistribution(std::span<const float> p, std::span<const double> q) {
  std::vector<double> residual(p.size());
  for (size_t t = 0; t < p.size(); ++t) {
    residual[t] = std::max(0.0, static_cast<double>(p[t]) - q[t]);
  }
  double sum = std::accumulate(residual.begin(), residual.end(), 0.0);
  if (!(sum > 0.0)) {
    residual.assign(p.begin(), p.end());
    sum = std::accumulate(residual.begin(), residual.end(), 0.0);
  }
  for (double& r : residual) r /= sum;
  return residual;
}

std::vector<SampledToken> VerifyGreedy(const VerifyInput& input) {
  const std::vector<int32_t> history = HistoryWithDrafts(input);
  std::vector<SampledToken> emitted;
  for (int64_t i = 0; i <= NumDrafts(input); ++i) {
    emitted.push_back(Sampler::Sample(TargetRow(input, history, i)));
    if (i == NumDrafts(input) || emitted.back().token != input.draft_tokens[i]) break;
  }
  return emitted;
}

std::vector<SampledToken> VerifySampled(const VerifyInput& input) {
  const std::vector<int32_t> history = HistoryWithDrafts(input);
  const uint64_t seed = input.sampling.seed;
  std::vector<SampledToken> emitted;
  for (int64_t i = 0; i < NumDrafts(input); ++i) {
    const SamplingRow row = TargetRow(input, history, i);
    const uint64_t position = row.output_token_ids.size();
    const int32_t draft = input.draft_tokens[i];
    const std::vector<float> p = Sampler::Probabilities(row);
    const std::vector<double> q = DraftDistribution(input, i);
    if (AcceptDraft(p, q, draft, Sampler::Uniform(seed, position, kAcceptStream))) {
      emitted.push_back(Sampler::Score(row, draft));
      continue;
    }
    const double u = Sampler::Uniform(seed, position, kResidualStream);
    emitted.push_back(Sampler::Score(row, Sampler::InverseCdf(ResidualDistribution(p, q), u)));
    return emitted;
  }
  emitted.push_back(Sampler::Sample(TargetRow(input, history, NumDrafts(input))));
  return emitted;
}

}  // namespace

std::vector<SampledToken> VerifyDrafts(const VerifyInput& input) {
  CheckInput(input);
  return input.sampling.params->greedy() ? VerifyGreedy(input) : VerifySampled(input);
}

}  // namespace specd
