// DraftModelProposer: a small model proposes the drafts, autoregressively, for a batch of
// requests at a time. Engine thread only.
//
// The draft has its own KV cache with the target's shape, indexed by the same block tables
// (its layers live in its own runner). Request::draft_num_computed says how much of a request
// the draft's KV holds; each Propose first catches up on the tokens it has not seen, then runs
// one token per draft position:
//
//   all_token_ids  ..... t[T-2] t[T-1] | d1   d2  ...  dk       (drafts: slots T .. T+k-1)
//   draft pass 1:  [draft_num_computed, T) -> logits -> d1
//   draft pass i:  d(i-1) at position T+i-2 -> logits -> di
//
// Greedy requests get the draft's greedy tokens (no probabilities kept), sampled by the draft's
// runner (on the GPU for the CUDA runner); sampled requests get tokens drawn on the host from the
// draft's processed distribution q (the request's own sampling parameters), which is returned for
// the rejection sampler. The draft's draws use a seed derived
// from the request's, independent of the target's.
#pragma once

#include <memory>
#include <string>

#include "engine/base/status.h"
#include "engine/model/model_config.h"
#include "engine/runner/model_runner.h"
#include "engine/spec/proposer.h"
#include "engine/tokenizer/tokenizer.h"

namespace specd {

class DraftModelProposer : public Proposer {
 public:
  // Precondition: the runner's KV cache has the target's shape.
  DraftModelProposer(std::unique_ptr<ModelRunner> draft_runner, std::vector<int32_t> eos_token_ids);

  std::vector<Draft> Propose(std::span<const DraftRequest> requests) override;

 private:
  // Runs one draft pass; on a runner error, logs it and returns nullopt (no drafts this step).
  std::optional<ModelOutput> Run(const SchedulerOutput& batch);
  SamplingRow DraftRow(const Request& request, const Draft& draft, std::vector<int32_t>& history) const;
  void Draw(const float* logits, int64_t vocab, const Request& request, Draft& draft) const;
  // Sampling rows for the pass's greedy requests (batch.sequences[row] is active[row]'s).
  void AddSampling(std::span<const DraftRequest> requests, const std::vector<Draft>& drafts,
                   const std::vector<size_t>& active, SchedulerOutput& batch,
                   std::vector<std::vector<int32_t>>& histories) const;

  std::unique_ptr<ModelRunner> runner_;
  std::vector<int32_t> eos_token_ids_;
};

// INVALID_ARGUMENT naming both folders when the draft model cannot serve as the target's draft:
// a different vocabulary size, or a tokenizer that spells any token differently.
Status CheckDraftMatchesTarget(const std::string& draft_dir, const ModelConfig& draft_config,
                               const Tokenizer& draft_tokenizer, const std::string& target_dir,
                               const ModelConfig& target_config, const Tokenizer& target_tokenizer);

}  // namespace specd
