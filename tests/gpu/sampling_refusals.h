// The argument checks every sampling launcher shares (LaunchSampling, LaunchGreedySampling).
#pragma once

#include <catch2/catch.hpp>
#include <cuda_runtime.h>

#include "kernels/sampling.h"

namespace specd::testing {

// A vocabulary out of range, missing arrays and a negative row count are refused; no rows is a
// no-op. Returns the last params tried (one row, vocab 100, no arrays) for launcher-specific checks.
template <typename Launcher>
kernels::SamplingKernelParams CheckSharedSamplingRefusals(Launcher launch) {
  kernels::SamplingKernelParams bad;
  bad.num_rows = 1;
  bad.vocab = 0;
  CHECK(launch(bad, nullptr) == cudaErrorInvalidValue);
  bad.vocab = kernels::kMaxSamplingVocab + 1;
  CHECK(launch(bad, nullptr) == cudaErrorInvalidValue);
  bad.vocab = 100;
  CHECK(launch(bad, nullptr) == cudaErrorInvalidValue);  // no arrays
  bad.num_rows = -1;
  CHECK(launch(bad, nullptr) == cudaErrorInvalidValue);
  bad.num_rows = 0;
  CHECK(launch(bad, nullptr) == cudaSuccess);  // nothing to do
  return bad;
}

}  // namespace specd::testing
