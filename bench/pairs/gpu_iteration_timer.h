// Times the kernel pairs' iterations on the GPU: one untimed warm-up (cuBLAS(Lt) planning, first
// launches), then `repeats` iterations, each bracketed by CUDA events on the default stream, so
// a sample is device time from the iteration's first launch to its last kernel's end. Harness
// thread only.
#pragma once

#include <functional>
#include <vector>

#include "engine/base/status.h"

namespace specd::bench {

// `iteration` enqueues its work on the default stream (it need not synchronize).
StatusOr<std::vector<double>> TimeGpuIterations(int repeats, const std::function<Status()>& iteration);

}  // namespace specd::bench
