#include "engine/core/request.h"

namespace specd {

const char* FinishReasonName(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kAbort: return "abort";
    case FinishReason::kDeadline: return "deadline";
    case FinishReason::kError: return "error";
    case FinishReason::kShutdown: return "shutdown";
  }
  return "unknown";
}

}  // namespace specd
