// The key that names a machine's expectations file, bench/expectations_<key>.json: the device
// name lower-cased, with every run of characters other than [a-z0-9] turned into one '_', and a
// leading vendor word "nvidia" dropped: "NVIDIA H100 80GB HBM3" -> "h100_80gb_hbm3". GPU runs key
// from the CUDA device name, CPU-only runs from the CPU model name (machine_name.h). Pure.
#pragma once

#include <string>

namespace specd::bench {

// "unknown" for a name with no letter or digit.
std::string HardwareKey(const std::string& device_name);

}  // namespace specd::bench
