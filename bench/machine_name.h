// The name benchmarks record for the machine they ran on (the CPU model from /proc/cpuinfo).
#pragma once

#include <string>

namespace specd::bench {

std::string CpuName();

}  // namespace specd::bench
