// Checks a SchedulerOutput against the model and the KV cache before any runner touches it,
// so that both runners refuse the same bad batches with the same messages.
#pragma once

#include "engine/base/status.h"
#include "engine/model/model_config.h"
#include "engine/runner/model_runner.h"

namespace specd {

// INVALID_ARGUMENT naming the sequence and the problem, or OK.
Status ValidateBatch(const SchedulerOutput& batch, const ModelConfig& config,
                     const KvCacheShape& cache);

}  // namespace specd
