#include "server/status_mapping.h"

namespace specd {

grpc::Status ToGrpcStatus(const Status& status) {
  // StatusCode mirrors grpc::StatusCode value for value.
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), status.message());
}

Status FinishStatus(FinishReason reason, const std::string& message) {
  switch (reason) {
    case FinishReason::kStop:
    case FinishReason::kLength:
      return OkStatus();
    case FinishReason::kAbort:
      return Status(StatusCode::kCancelled, message.empty() ? "the request was aborted" : message);
    case FinishReason::kDeadline:
      return Status(StatusCode::kDeadlineExceeded, "deadline exceeded");
    case FinishReason::kError:
      return InternalError(message.empty() ? "the engine failed to run the request" : message);
    case FinishReason::kShutdown:
      return UnavailableError("the server is shutting down");
  }
  return InternalError("unknown finish reason");
}

}  // namespace specd
