// Verification of draft tokens against the target model (Leviathan et al. 2023), on the CPU.
//
// For a request whose step scored its last token and k drafts d_1..d_k, the target gave k+1
// logits rows. Row i (0-based) is the distribution of the token after d_1..d_i. The sampler
// accepts a prefix of the drafts and adds one token, so it returns 1..k+1 tokens:
//
//   greedy request:  accept d_i while it equals the target's greedy token at row i-1; then
//                    emit the target's greedy token at the first mismatch (or row k): exactly
//                    what plain greedy decoding produces.
//   sampled request: p_i = the target's processed distribution at row i-1 (after bias, min
//                    tokens, penalties with d_1..d_{i-1} counted as output, temperature, top-k/p,
//                    min-p: Sampler::Probabilities); q_i = the draft's distribution (draft_probs
//                    row i-1, or one-hot on d_i when the proposer is deterministic). Accept d_i
//                    with probability min(1, p_i(d_i) / q_i(d_i)); on rejection emit a token from
//                    normalize(max(0, p_i - q_i)) and stop; if all k are accepted, emit a bonus
//                    token from p_{k+1}. The output distribution equals the target's.
//
// Randomness is counter-based (Sampler::Uniform) at the request's output position n of each
// emitted token: stream 1 for the accept test, stream 2 for the residual draw, stream 0 for the
// bonus token (as plain sampling draws). Every emitted token carries the target's raw logprobs.
// Stateless and thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/sampling/sampler.h"

namespace specd {

struct VerifyInput {
  std::span<const float> target_logits;  // [k + 1, vocab]
  // params, seed, prompt, output so far (without the drafts) and eos ids; `logits` unused.
  SamplingRow sampling;
  std::span<const int32_t> draft_tokens;  // [k]
  std::span<const float> draft_probs;     // [k, vocab], or empty: one-hot q (n-gram proposals)
  int64_t vocab_size = 0;
};

// The accepted drafts followed by the corrected or bonus token (1..k+1 tokens).
std::vector<SampledToken> VerifyDrafts(const VerifyInput& input);

}  // namespace specd
