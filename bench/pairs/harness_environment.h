// The machine `specd-bench list` and `run` see: the pairs (pair_registry.h), the CUDA device name
// (or the CPU model name when there is no usable GPU, or no CUDA in the build), the source
// revision and the time. The revision is the one the binary was built from (`git describe
// --always --dirty` at build time, bench/build_revision.cmake), not the current directory's: a
// copy of the tree elsewhere (the GPU machine's) may hold another, stale checkout.
#pragma once

#include "bench/harness/harness_command.h"

namespace specd::bench {

HarnessEnvironment HarnessEnvironmentHere();

}  // namespace specd::bench
