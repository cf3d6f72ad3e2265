// Element types of safetensors tensors, and their conversion to fp32 for the CPU runner.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace specd {

// Every dtype the safetensors format names. Only kBF16, kF16 and kF32 can hold model weights;
// the rest exist so that any valid header can be parsed and sized.
enum class DType {
  kBool, kU8, kI8, kF8E4M3, kF8E5M2, kI16, kU16, kF16, kBF16, kI32, kU32, kF32, kF64, kI64, kU64,
};

// "BF16" -> kBF16; nullopt for a name safetensors does not define.
std::optional<DType> ParseDType(std::string_view name);
std::string_view DTypeName(DType dtype);
size_t DTypeSize(DType dtype);
// bf16, fp16 or fp32: the dtypes specd loads weights from.
bool IsWeightDType(DType dtype);

float BF16ToFloat(uint16_t bits);
float F16ToFloat(uint16_t bits);
// Round to nearest even (NaN stays NaN).
uint16_t FloatToBF16(float value);
uint16_t FloatToF16(float value);

// Converts `bytes` (little-endian elements of `dtype`, a weight dtype) into `out`.
// Precondition: IsWeightDType(dtype), bytes.size() == out.size() * DTypeSize(dtype).
void ConvertToFloat(DType dtype, std::span<const std::byte> bytes, std::span<float> out);

}  // namespace specd
