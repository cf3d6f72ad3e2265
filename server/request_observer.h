// RequestObserver: hears about every request the server admitted, refused and finished, for the
// finished-request log line and the Prometheus metrics. Called from gRPC and worker threads;
// implementations must be thread-safe and quick.
#pragma once

#include <string>

#include "engine/base/status.h"
#include "engine/core/output_sink.h"
#include "engine/core/request.h"

namespace specd {

struct FinishedRequest {
  std::string request_id;
  std::string qos_class;
  FinishReason reason = FinishReason::kStop;
  RequestDelta last;  // usage counts and timings
};

class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  // A Generate call refused before it reached the engine (or by it), with that status.
  virtual void OnRejected(const Status& status) = 0;
  // `num_tokens` new tokens arrived `seconds_since_previous` after the previous ones (the first
  // ones of a request are not reported here: time to first token is in OnFinished).
  virtual void OnTokens(int num_tokens, double seconds_since_previous) = 0;
  virtual void OnFinished(const FinishedRequest& finished) = 0;
};

}  // namespace specd
