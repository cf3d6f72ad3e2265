// The name GPU benchmarks record for the card they ran on (cudaGetDeviceProperties of device 0).
#pragma once

#include <string>

namespace specd::bench {

std::string GpuName();

}  // namespace specd::bench
