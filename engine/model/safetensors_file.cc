#include "engine/model/safetensors_file.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

namespace specd {
namespace {

// The safetensors format caps the header at 100 MB; a larger length means a corrupt file.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
constexpr size_t kHeaderLengthBytes = 8;

using Json = nlohmann::json;

// Parses one header entry into `view` (without its data span). `data_bytes` is the size of the
// data section. Returns the entry's [begin, end) through `range`.
Status ParseEntry(const std::string& name, const Json& entry, uint64_t data_bytes,
                  TensorView& view, std::pair<uint64_t, uint64_t>& range) {
  const std::string where = "tensor '" + name + "'";
  if (!entry.is_object()) return DataLossError(where + ": header entry is not an object");
  const auto dtype_it = entry.find("dtype");
  if (dtype_it == entry.end() || !dtype_it->is_string()) {
    return DataLossError(where + ": missing dtype");
  }
  const auto dtype = ParseDType(dtype_it->get<std::string>());
  if (!dtype) return DataLossError(where + ": unknown dtype '" + dtype_it->get<std::string>() + "'");
  const auto shape_it = entry.find("shape");
  if (shape_it == entry.end() || !shape_it->is_array()) {
    return DataLossError(where + ": missing shape");
  }
  uint64_t num_elements = 1;
  for (const auto& dim : *shape_it) {
    if (!dim.is_number_unsigned()) return DataLossError(where + ": shape must be a list of non-negative integers");
    const uint64_t size = dim.get<uint64_t>();
    if (size != 0 && num_elements > std::numeric_limits<uint64_t>::max() / 16 / size) {
      return DataLossError(where + ": shape is too large");
    }
    num_elements *= size;
    view.shape.push_back(static_cast<int64_t>(size));
  }
  const auto offsets_it = entry.find("data_offsets");
  if (offsets_it == entry.end() || !offsets_it->is_array() || offsets_it->size() != 2 ||
      !(*offsets_it)[0].is_number_unsigned() || !(*offsets_it)[1].is_number_unsigned()) {
    return DataLossError(where + ": data_offsets must be two non-negative integers");
  }
  range = {(*offsets_it)[0].get<uint64_t>(), (*offsets_it)[1].get<uint64_t>()};
  if (range.first > range.second) return DataLossError(where + ": data_offsets begin > end");
  if (range.second > data_bytes) {
    return DataLossError(where + ": data ends at byte " + std::to_string(range.second) +
                         " but the file holds only " + std::to_string(data_bytes) +
                         " data bytes (truncated file?)");
  }
  const uint64_t needed = num_elements * DTypeSize(*dtype);
  if (range.second - range.first != needed) {
    return DataLossError(where + ": data_offsets span " + std::to_string(range.second - range.first) +
                         " bytes but shape " + ShapeToString(view.shape) + " of " +
                         std::string(DTypeName(*dtype)) + " needs " + std::to_string(needed));
  }
  view.name = name;
  view.dtype = *dtype;
  return OkStatus();
}

}  // namespace

std::string ShapeToString(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Open(const std::string& path) {
  SPECD_ASSIGN_OR_RETURN(auto mapped, MappedFile::Open(path));
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile(std::move(mapped)));
  SPECD_RETURN_IF_ERROR(file->ParseHeader().WithContext(path));
  return file;
}

Status SafetensorsFile::ParseHeader() {
  const auto bytes = file_->bytes();
  if (bytes.size() < kHeaderLengthBytes) {
    return DataLossError("truncated file: " + std::to_string(bytes.size()) +
                         " bytes, shorter than the 8-byte header length");
  }
  uint64_t header_bytes = 0;
  std::memcpy(&header_bytes, bytes.data(), kHeaderLengthBytes);  // little-endian host (x86-64)
  if (header_bytes > kMaxHeaderBytes || header_bytes > bytes.size() - kHeaderLengthBytes) {
    return DataLossError("corrupt or truncated header: header length " +
                         std::to_string(header_bytes) + " but the file has " +
                         std::to_string(bytes.size()) + " bytes");
  }
  const auto* header_begin = reinterpret_cast<const char*>(bytes.data() + kHeaderLengthBytes);
  const Json header = Json::parse(header_begin, header_begin + header_bytes, nullptr,
                                  /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object()) {
    return DataLossError("corrupt header: not a JSON object");
  }
  const auto data = bytes.subspan(kHeaderLengthBytes + header_bytes);
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    TensorView view;
    std::pair<uint64_t, uint64_t> range;
    SPECD_RETURN_IF_ERROR(ParseEntry(name, entry, data.size(), view, range));
    view.data = data.subspan(range.first, range.second - range.first);
    ranges.push_back(range);
    tensors_.emplace(name, std::move(view));
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].first < ranges[i - 1].second) {
      return DataLossError("corrupt header: two tensors' data_offsets overlap");
    }
  }
  return OkStatus();
}

const TensorView* SafetensorsFile::Find(std::string_view name) const {
  const auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

std::vector<std::string> SafetensorsFile::TensorNames() const {
  std::vector<std::string> names;
  names.reserve(tensors_.size());
  for (const auto& entry : tensors_) names.push_back(entry.first);
  return names;
}

}  // namespace specd
