// The sampling step every CPU-side runner shares: for each sequence that asked for it, sample
// the next token from its last logits row with the CPU Sampler, or verify its drafts with the
// rejection sampler.
#pragma once

#include "engine/runner/model_runner.h"

namespace specd {

// Fills output.sampled (one entry per sequence). Precondition: output.logits holds the rows of
// `batch` in order, the last num_draft_tokens + 1 rows of a sequence being its verify rows.
void SampleRequestedRows(const SchedulerOutput& batch, ModelOutput& output);

}  // namespace specd
