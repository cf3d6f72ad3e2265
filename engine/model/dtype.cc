#include "engine/model/dtype.h"

#include <array>
#include <bit>
#include <cmath>
#include <cstring>

#include "engine/base/check.h"

namespace specd {
namespace {

struct DTypeInfo {
  DType dtype;
  std::string_view name;
  size_t size;
};

constexpr std::array<DTypeInfo, 15> kDTypes = {{
    {DType::kBool, "BOOL", 1},     {DType::kU8, "U8", 1},     {DType::kI8, "I8", 1},
    {DType::kF8E4M3, "F8_E4M3", 1}, {DType::kF8E5M2, "F8_E5M2", 1}, {DType::kI16, "I16", 2},
    {DType::kU16, "U16", 2},       {DType::kF16, "F16", 2},   {DType::kBF16, "BF16", 2},
    {DType::kI32, "I32", 4},       {DType::kU32, "U32", 4},   {DType::kF32, "F32", 4},
    {DType::kF64, "F64", 8},       {DType::kI64, "I64", 8},   {DType::kU64, "U64", 8},
}};

const DTypeInfo& Info(DType dtype) {
  for (const auto& info : kDTypes) {
    if (info.dtype == dtype) return info;
  }
  SPECD_CHECK(false) << "unknown dtype " << static_cast<int>(dtype);
  return kDTypes[0];  // not reached: the check aborts
}

uint16_t LoadU16(const std::byte* p) {
  uint16_t value;
  std::memcpy(&value, p, sizeof(value));
  return value;
}

}  // namespace

std::optional<DType> ParseDType(std::string_view name) {
  for (const auto& info : kDTypes) {
    if (info.name == name) return info.dtype;
  }
  return std::nullopt;
}

std::string_view DTypeName(DType dtype) { return Info(dtype).name; }
size_t DTypeSize(DType dtype) { return Info(dtype).size; }

bool IsWeightDType(DType dtype) {
  return dtype == DType::kBF16 || dtype == DType::kF16 || dtype == DType::kF32;
}

float BF16ToFloat(uint16_t bits) { return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16); }

float F16ToFloat(uint16_t bits) {
  const uint32_t sign = (bits & 0x8000u) << 16;
  const uint32_t exponent = (bits >> 10) & 0x1Fu;
  const uint32_t mantissa = bits & 0x3FFu;
  if (exponent == 0x1F) {  // inf or NaN
    return std::bit_cast<float>(sign | 0x7F800000u | (mantissa << 13));
  }
  if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  return std::bit_cast<float>(sign | ((exponent + 127 - 15) << 23) | (mantissa << 13));
}

uint16_t FloatToBF16(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  if (std::isnan(value)) return static_cast<uint16_t>((bits >> 16) | 0x40u);
  const uint32_t rounding = 0x7FFFu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>((bits + rounding) >> 16);
}

uint16_t FloatToF16(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  if (std::isnan(value)) return sign | 0x7E00u;
  const float magnitude = std::fabs(value);
  if (magnitude >= 65520.0f) return sign | 0x7C00u;  // rounds to infinity
  if (magnitude < 6.103515625e-05f) {                 // subnormal half: multiples of 2^-24
    const float scaled = std::nearbyint(std::ldexp(magnitude, 24));  // ties to even
    return sign | static_cast<uint16_t>(scaled);
  }
  // Normal: drop 13 mantissa bits with round-to-nearest-even, re-bias the exponent.
  const uint32_t magnitude_bits = bits & 0x7FFFFFFFu;
  const uint32_t rounded = magnitude_bits + 0xFFFu + ((magnitude_bits >> 13) & 1u);
  return sign | static_cast<uint16_t>((rounded >> 13) - ((127 - 15) << 10));
}

void ConvertToFloat(DType dtype, std::span<const std::byte> bytes, std::span<float> out) {
  SPECD_CHECK(IsWeightDType(dtype)) << DTypeName(dtype);
  SPECD_CHECK(bytes.size() == out.size() * DTypeSize(dtype));
  const std::byte* p = bytes.data();
  switch (dtype) {
    case DType::kF32:
      std::memcpy(out.data(), p, bytes.size());
      return;
    case DType::kBF16:
      for (size_t i = 0; i < out.size(); ++i) out[i] = BF16ToFloat(LoadU16(p + 2 * i));
      return;
    case DType::kF16:
      for (size_t i = 0; i < out.size(); ++i) out[i] = F16ToFloat(LoadU16(p + 2 * i));
      return;
    default:
      SPECD_CHECK(false) << "not a weight dtype";
  }
}

}  // namespace specd
