// What the GPU kernel tests (tests/gpu/*_test.cc) share: CUDA_REQUIRE, device arrays, random
// bf16 inputs and bf16 vectors as floats (tests/bf16_vectors.h), and the error checks against an
// fp64 reference.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include <catch2/catch.hpp>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "tests/bf16_vectors.h"
#include "tests/gpu/device_array.h"

#define CUDA_REQUIRE(call) REQUIRE((call) == cudaSuccess)

namespace specd::testing {

inline __nv_bfloat16* AsBF16(uint16_t* pointer) { return reinterpret_cast<__nv_bfloat16*>(pointer); }

// |got - exact|_2 / |exact|_2.
double RelativeError(const std::vector<double>& exact, const std::vector<float>& got);

// Every element of got is finite (the kernel wrote it; outputs start poisoned with NaN).
void RequireAllFinite(const std::vector<float>& got);

// The kernel's relative error is at most about twice that of a same-precision reference
// (fp32 arithmetic rounded to bf16 like the kernel's output): 2 x + 1e-6.
void CheckErrorNearReference(const std::vector<double>& exact, const std::vector<float>& same_precision,
                             const std::vector<float>& got);

}  // namespace specd::testing
