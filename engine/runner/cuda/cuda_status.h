// Turning CUDA and cuBLAS return codes into Status, naming what failed.
#pragma once

#include <string>

#include <cublasLt.h>
#include <cuda_runtime.h>

#include "engine/base/status.h"

namespace specd {

inline Status CudaStatus(cudaError_t error, const std::string& what) {
  if (error == cudaSuccess) return OkStatus();
  const StatusCode code = error == cudaErrorMemoryAllocation ? StatusCode::kResourceExhausted
                                                             : StatusCode::kInternal;
  return Status(code, what + ": " + cudaGetErrorString(error));
}

inline Status CublasStatus(cublasStatus_t status, const std::string& what) {
  if (status == CUBLAS_STATUS_SUCCESS) return OkStatus();
  return InternalError(what + ": cuBLAS error " + std::to_string(static_cast<int>(status)));
}

}  // namespace specd
