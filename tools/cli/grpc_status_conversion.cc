// grpc::Status -> specd::Status (see grpc_status_conversion.h).
#include "tools/cli/grpc_status_conversion.h"

namespace specd::cli {

Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return OkStatus();
  const int code = static_cast<int>(status.error_code());
  const bool known = code > 0 && code <= static_cast<int>(StatusCode::kDataLoss);
  // UNAUTHENTICATED (16) has no StatusCode: UNKNOWN, with the gRPC name in the message.
  if (!known) {
    const std::string name = code == 16 ? "UNAUTHENTICATED" : "gRPC code " + std::to_string(code);
    return Status(StatusCode::kUnknown, name + ": " + status.error_message());
  }
  return Status(static_cast<StatusCode>(code), status.error_message());
}

}  // namespace specd::cli
