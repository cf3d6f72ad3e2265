#include "engine/runner/row_sampling.h"

namespace specd {

void SampleRequestedRows(const SchedulerOutput& batch, ModelOutput& output) {
  output.sampled.clear();
  int64_t row = 0;
  for (const auto& seq : batch.sequences) {
    row += static_cast<int64_t>(seq.logits_indices.size());
    if (!seq.sampling || seq.logits_indices.empty()) {
      output.sampled.emplace_back();
      continue;
    }
    SamplingRow sampling = *seq.sampling;
    sampling.logits = std::span<const float>(output.row(row - 1), static_cast<size_t>(output.vocab_size));
    output.sampled.push_back(Sampler::Sample(sampling));
  }
}

}  // namespace specd
