#include "engine/runner/fed_tokens.h"

#include <string>

namespace specd {
namespace {

// Penalties weigh the output tokens by value; a fed sequence's history ends in a placeholder.
bool ReadsOutputValues(const SamplingParams& params) {
  return params.repetition_penalty != 1.0f || params.presence_penalty != 0.0f || params.frequency_penalty != 0.0f;
}

}  // namespace

Status CheckFedSequences(const SchedulerOutput& batch, size_t previous_sequences) {
  for (size_t s = 0; s < batch.sequences.size(); ++s) {
    const ScheduledSequence& seq = batch.sequences[s];
    if (seq.fed_from_sequence < 0) continue;
    const std::string name = "sequence " + std::to_string(s) + " (fed from sequence " +
                             std::to_string(seq.fed_from_sequence) + " of the previous step)";
    if (seq.token_ids.size() != 1 || seq.num_draft_tokens != 0) {
      return InvalidArgumentError(name + " brings " + std::to_string(seq.token_ids.size()) + " tokens and " +
                                  std::to_string(seq.num_draft_tokens) + " drafts; a fed sequence brings one token");
    }
    if (seq.sampling.has_value() && ReadsOutputValues(*seq.sampling->params)) {
      return InvalidArgumentError(name + " samples with a repetition, presence or frequency penalty, which would "
                                  "read its pending token's value; such a sequence cannot be fed");
    }
    if (static_cast<size_t>(seq.fed_from_sequence) >= previous_sequences) {
      return InvalidArgumentError(name + ": the previous step had " + std::to_string(previous_sequences) +
                                  " sequences");
    }
  }
  return OkStatus();
}

bool HasFedSequences(const SchedulerOutput& batch) {
  for (const ScheduledSequence& seq : batch.sequences) {
    if (seq.fed_from_sequence >= 0) return true;
  }
  return false;
}

StatusOr<HostFedBatch> HostFedBatch::Resolve(const SchedulerOutput& batch,
                                             const std::vector<std::vector<SampledToken>>& previous) {
  SPECD_RETURN_IF_ERROR(CheckFedSequences(batch, previous.size()));
  HostFedBatch fed;
  fed.batch_ = batch;
  for (size_t s = 0; s < fed.batch_.sequences.size(); ++s) {
    ScheduledSequence& seq = fed.batch_.sequences[s];
    if (seq.fed_from_sequence < 0) continue;
    const auto& sampled = previous[static_cast<size_t>(seq.fed_from_sequence)];
    if (sampled.size() != 1) {
      return InvalidArgumentError("sequence " + std::to_string(s) + " is fed from sequence " +
                                  std::to_string(seq.fed_from_sequence) + " of the previous step, which sampled " +
                                  std::to_string(sampled.size()) + " tokens, not one");
    }
    fed.tokens_.push_back(sampled.front().token);
    seq.token_ids = std::span<const int32_t>(&fed.tokens_.back(), 1);
    seq.fed_from_sequence = -1;
  }
  return fed;
}

}  // namespace specd
