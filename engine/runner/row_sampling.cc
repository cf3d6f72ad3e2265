#include "engine/runner/row_sampling.h"

#include "engine/spec/rejection_sampler.h"

namespace specd {

void SampleRequestedRows(const SchedulerOutput& batch, ModelOutput& output) {
  output.sampled.clear();
  int64_t row = 0;  // first row of the next sequence
  for (const auto& seq : batch.sequences) {
    row += static_cast<int64_t>(seq.logits_indices.size());
    output.sampled.emplace_back();
    if (!seq.sampling || seq.logits_indices.empty()) continue;
    const int64_t vocab = output.vocab_size;
    if (seq.num_draft_tokens == 0) {
      SamplingRow sampling = *seq.sampling;
      sampling.logits = std::span<const float>(output.row(row - 1), static_cast<size_t>(vocab));
      output.sampled.back().push_back(Sampler::Sample(sampling));
      continue;
    }
    const int64_t verify_rows = seq.num_draft_tokens + 1;
    const VerifyInput verify{
        .target_logits = std::span<const float>(output.row(row - verify_rows),
                                                static_cast<size_t>(verify_rows * vocab)),
        .sampling = *seq.sampling,
        .draft_tokens = seq.token_ids.last(static_cast<size_t>(seq.num_draft_tokens)),
        .draft_probs = seq.draft_probs,
        .vocab_size = vocab};
    output.sampled.back() = VerifyDrafts(verify);
  }
}

}  // namespace specd
