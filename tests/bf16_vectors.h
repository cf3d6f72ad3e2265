// Random bf16 test inputs and bf16 vectors as floats, for host and GPU tests alike.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace specd::testing {

// count bf16 values drawn from N(mean, stddev), rounded to nearest.
std::vector<uint16_t> RandomBF16(size_t count, std::mt19937& rng, float mean, float stddev);

std::vector<float> BF16ToFloats(const std::vector<uint16_t>& bits);

}  // namespace specd::testing
