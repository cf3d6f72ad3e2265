#include <cmath>
#include <limits>

#include <catch2/catch.hpp>

#include "engine/model/dtype.h"

namespace specd {

TEST_CASE("bf16 and fp16 convert exactly, rounding to nearest even", "[cpu]") {
  CHECK(BF16ToFloat(0x3F80) == 1.0f);
  CHECK(BF16ToFloat(0xC040) == -3.0f);
  CHECK(FloatToBF16(1.0f) == 0x3F80);
  CHECK(FloatToBF16(1.00390625f) == 0x3F80);  // exactly halfway: ties to even (down)
  CHECK(FloatToBF16(1.01171875f) == 0x3F82);  // halfway between 0x3F81 and 0x3F82: up to even
  CHECK(std::isnan(BF16ToFloat(FloatToBF16(std::numeric_limits<float>::quiet_NaN()))));

  CHECK(F16ToFloat(0x3C00) == 1.0f);
  CHECK(F16ToFloat(0xC000) == -2.0f);
  CHECK(F16ToFloat(0x7BFF) == 65504.0f);
  CHECK(F16ToFloat(0x0001) == std::ldexp(1.0f, -24));  // smallest subnormal
  CHECK(std::isinf(F16ToFloat(0x7C00)));
  CHECK(std::isnan(F16ToFloat(0x7E00)));
  CHECK(FloatToF16(1.0f) == 0x3C00);
  CHECK(FloatToF16(65504.0f) == 0x7BFF);
  CHECK(FloatToF16(70000.0f) == 0x7C00);
  CHECK(FloatToF16(std::ldexp(1.0f, -24)) == 0x0001);
  CHECK(FloatToF16(std::ldexp(3.0f, -25)) == 0x0002);  // 1.5 ulp of subnormal: ties to even
  CHECK(FloatToF16(1.0f + std::ldexp(1.0f, -11)) == 0x3C00);  // halfway: ties to even
  for (uint32_t bits = 0; bits < 0x7C00; bits += 7) {  // every finite half round-trips
    CHECK(FloatToF16(F16ToFloat(static_cast<uint16_t>(bits))) == bits);
  }
}

TEST_CASE("dtype names and sizes follow the safetensors spec", "[cpu]") {
  CHECK(ParseDType("BF16") == DType::kBF16);
  CHECK(ParseDType("F8_E4M3") == DType::kF8E4M3);
  CHECK_FALSE(ParseDType("bf16").has_value());
  CHECK(DTypeSize(DType::kF64) == 8);
  CHECK(DTypeSize(DType::kF16) == 2);
  CHECK(IsWeightDType(DType::kF16));
  CHECK_FALSE(IsWeightDType(DType::kI64));
}

}  // namespace specd
