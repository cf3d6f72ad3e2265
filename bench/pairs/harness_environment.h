// The machine `specd-bench list` and `run` see: the pairs (pair_registry.h), the CUDA device name
// (or the CPU model name when there is no usable GPU, or no CUDA in the build), the source
// revision and the time. The revision is `git rev-parse --short HEAD` in the current directory
// when that works, else the one CMake saw at configure time (SPECD_BUILD_COMMIT, "+configure"
// appended: commits since the last configure are not in it; the GPU machine's copy of the tree
// has no .git, so reconfigure before building what you carry there).
#pragma once

#include "bench/harness/harness_command.h"

namespace specd::bench {

HarnessEnvironment HarnessEnvironmentHere();

}  // namespace specd::bench
