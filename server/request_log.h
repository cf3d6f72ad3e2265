// RequestLog: the RequestObserver that writes one info line per finished request (id, class,
// tokens, timings, finish reason; never the prompt text) and counts refusals by code.
// Thread-safe.
#pragma once

#include "server/request_observer.h"

namespace specd {

class RequestLog : public RequestObserver {
 public:
  void OnRejected(const Status& status) override;
  void OnTokens(int, double) override {}
  void OnFinished(const FinishedRequest& finished) override;
};

}  // namespace specd
