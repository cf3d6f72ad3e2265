// The benchmark pairs `specd-bench list` shows and `specd-bench run` runs, in a fixed order that
// mirrors the chapter this project grew from. GPU pairs have factories only in builds with the
// CUDA runner (SPECD_WITH_CUDA); elsewhere they are listed as unavailable.
#pragma once

#include <vector>

#include "bench/harness/benchmark_pair.h"

namespace specd::bench {

// has_gpu: a usable GPU is there (pairs that can use either runner pick the CUDA one then).
std::vector<PairEntry> AllPairs(bool has_gpu);

}  // namespace specd::bench
