// From a GenerateRequest to what the engine runs: every field checked, defaults applied, the
// prompt tokenized. Pure (no engine state); runs on a gRPC thread, never the engine thread.
#pragma once

#include "engine/base/status.h"
#include "engine/core/engine_core.h"
#include "engine/model/model_config.h"
#include "engine/tokenizer/tokenizer.h"
#include "specd/v1/generation.pb.h"

namespace specd {

// How the stream reports a request, beyond what the engine needs.
struct ResponseSettings {
  bool detokenize = true;
  bool logprobs = false;
};

struct ValidatedGenerate {
  EngineRequest request;  // everything but request_id (when the client left it empty) and sink
  ResponseSettings response;
};

// INVALID_ARGUMENT naming the field for anything out of range.
StatusOr<ValidatedGenerate> ValidateGenerateRequest(const v1::GenerateRequest& request,
                                                    const Tokenizer& tokenizer,
                                                    const ModelConfig& model);

}  // namespace specd
