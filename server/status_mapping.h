// The one place where specd's Status becomes a grpc::Status (DESIGN.md, "Errors and
// reliability"), and where a request's finish reason becomes the status its stream ends with.
#pragma once

#include <string>

#include <grpcpp/support/status.h>

#include "engine/base/status.h"
#include "engine/core/request.h"

namespace specd {

grpc::Status ToGrpcStatus(const Status& status);

// OK for stop and length; otherwise the error the stream ends with: CANCELLED (abort),
// DEADLINE_EXCEEDED, INTERNAL (engine error, with its message), UNAVAILABLE (shutdown).
Status FinishStatus(FinishReason reason, const std::string& message);

}  // namespace specd
