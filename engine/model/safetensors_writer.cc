#include "engine/model/safetensors_writer.h"

#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

namespace specd {
namespace {

constexpr size_t kHeaderAlignment = 8;

void AppendU16(std::vector<std::byte>& out, uint16_t value) {
  const size_t offset = out.size();
  out.resize(offset + sizeof(value));
  std::memcpy(out.data() + offset, &value, sizeof(value));
}

}  // namespace

std::vector<std::byte> EncodeFloats(const std::vector<float>& values, DType dtype) {
  SPECD_CHECK(IsWeightDType(dtype)) << DTypeName(dtype);
  std::vector<std::byte> out;
  if (dtype == DType::kF32) {
    out.resize(values.size() * sizeof(float));
    std::memcpy(out.data(), values.data(), out.size());
    return out;
  }
  out.reserve(values.size() * 2);
  for (float value : values) {
    AppendU16(out, dtype == DType::kBF16 ? FloatToBF16(value) : FloatToF16(value));
  }
  return out;
}

Status WriteSafetensors(const std::string& path, const std::vector<TensorToWrite>& tensors) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  header["__metadata__"] = {{"format", "pt"}};
  size_t offset = 0;
  for (const auto& tensor : tensors) {
    SPECD_CHECK(tensor.data.size() == static_cast<size_t>(NumElements(tensor.shape)) * DTypeSize(tensor.dtype))
        << tensor.name;
    header[tensor.name] = {{"dtype", DTypeName(tensor.dtype)},
                           {"shape", tensor.shape},
                           {"data_offsets", {offset, offset + tensor.data.size()}}};
    offset += tensor.data.size();
  }
  std::string header_text = header.dump();
  header_text.append((kHeaderAlignment - header_text.size() % kHeaderAlignment) % kHeaderAlignment,
                     ' ');
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return FailedPreconditionError(path + ": cannot open for writing");
  const uint64_t header_bytes = header_text.size();
  out.write(reinterpret_cast<const char*>(&header_bytes), sizeof(header_bytes));
  out.write(header_text.data(), static_cast<std::streamsize>(header_text.size()));
  for (const auto& tensor : tensors) {
    out.write(reinterpret_cast<const char*>(tensor.data.data()),
              static_cast<std::streamsize>(tensor.data.size()));
  }
  out.close();
  if (!out) return FailedPreconditionError(path + ": write failed");
  return OkStatus();
}

}  // namespace specd
