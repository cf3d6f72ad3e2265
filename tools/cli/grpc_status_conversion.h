// The one conversion of a gRPC call's status into specd's Status (codes match value for value),
// so that specd-cli reports "CODE_NAME: message" the way the server sent it.
#pragma once

#include <grpcpp/support/status.h>

#include "engine/base/status.h"

namespace specd::cli {

Status FromGrpcStatus(const grpc::Status& status);

}  // namespace specd::cli
