#include <cstring>
#include <filesystem>

#include <catch2/catch.hpp>

#include "engine/model/safetensors_file.h"
#include "engine/model/safetensors_writer.h"
#include "engine/model/weight_store.h"
#include "tests/model_fixtures.h"
#include "tests/test_paths.h"

namespace specd {
namespace {

using testing::ReadFile;
using testing::WriteFile;

std::vector<TensorToWrite> SampleTensors() {
  return {{"a", DType::kBF16, {2, 3}, EncodeFloats({1, 2, 3, 4, 5, 6}, DType::kBF16)},
          {"b", DType::kF16, {4}, EncodeFloats({0.5f, -1.5f, 2.0f, 65504.0f}, DType::kF16)},
          {"c", DType::kF32, {1}, EncodeFloats({3.25f}, DType::kF32)}};
}

// A safetensors file whose header is `header` (padded) followed by `data_bytes` zero bytes.
std::string RawFile(const std::string& header, size_t data_bytes) {
  std::string file(8, '\0');
  const uint64_t length = header.size();
  std::memcpy(file.data(), &length, 8);
  return file + header + std::string(data_bytes, '\0');
}

std::string OpenError(const std::string& path) {
  const auto file = SafetensorsFile::Open(path);
  REQUIRE_FALSE(file.ok());
  return file.status().ToString();
}

std::vector<float> Floats(const TensorView& view) {
  std::vector<float> values(static_cast<size_t>(view.num_elements()));
  ConvertToFloat(view.dtype, view.data, values);
  return values;
}

}  // namespace

TEST_CASE("safetensors: a written file reads back with every dtype", "[cpu]") {
  const std::string path = testing::MakeScratchDir("st_roundtrip") + "/m.safetensors";
  REQUIRE(WriteSafetensors(path, SampleTensors()).ok());
  const auto file = SafetensorsFile::Open(path);
  REQUIRE(file.ok());
  CHECK((*file)->TensorNames() == std::vector<std::string>{"a", "b", "c"});
  const TensorView* a = (*file)->Find("a");
  REQUIRE(a != nullptr);
  CHECK(a->dtype == DType::kBF16);
  CHECK(a->shape == std::vector<int64_t>{2, 3});
  CHECK(Floats(*a) == std::vector<float>{1, 2, 3, 4, 5, 6});
  CHECK(Floats(*(*file)->Find("b")) == std::vector<float>{0.5f, -1.5f, 2.0f, 65504.0f});
  CHECK(Floats(*(*file)->Find("c")) == std::vector<float>{3.25f});
  CHECK((*file)->Find("d") == nullptr);
}

TEST_CASE("safetensors: truncated and corrupt files are refused with a clear error", "[cpu]") {
  const std::string dir = testing::MakeScratchDir("st_corrupt");
  const std::string good = dir + "/good.safetensors";
  REQUIRE(WriteSafetensors(good, SampleTensors()).ok());
  const std::string bytes = ReadFile(good);
  const std::string bad = dir + "/bad.safetensors";

  WriteFile(bad, bytes.substr(0, bytes.size() - 3));
  CHECK(OpenError(bad) == "DATA_LOSS: " + bad + ": tensor 'c': data ends at byte 24 but the file "
                                                "holds only 21 data bytes (truncated file?)");
  WriteFile(bad, bytes.substr(0, 5));
  CHECK(OpenError(bad) == "DATA_LOSS: " + bad + ": truncated file: 5 bytes, shorter than the "
                                                "8-byte header length");
  WriteFile(bad, bytes.substr(0, 40));
  CHECK(OpenError(bad).find("corrupt or truncated header: header length") != std::string::npos);
  std::string garbled = bytes;
  garbled[8] = '#';
  WriteFile(bad, garbled);
  CHECK(OpenError(bad) == "DATA_LOSS: " + bad + ": corrupt header: not a JSON object");
  WriteFile(bad, RawFile(R"({"x": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 4]}})", 4));
  CHECK(OpenError(bad) == "DATA_LOSS: " + bad + ": tensor 'x': data_offsets span 4 bytes but "
                                                "shape [3] of BF16 needs 6");
  WriteFile(bad, RawFile(R"({"x": {"dtype": "Q4", "shape": [2], "data_offsets": [0, 2]}})", 2));
  CHECK(OpenError(bad) == "DATA_LOSS: " + bad + ": tensor 'x': unknown dtype 'Q4'");
  WriteFile(bad, RawFile(R"({"x": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},
                             "y": {"dtype": "U8", "shape": [4], "data_offsets": [2, 6]}})", 6));
  CHECK(OpenError(bad) == "DATA_LOSS: " + bad + ": corrupt header: two tensors' data_offsets overlap");
  WriteFile(bad, RawFile(R"({"x": {"dtype": "U8", "shape": [-4], "data_offsets": [0, 4]}})", 4));
  CHECK(OpenError(bad) == "DATA_LOSS: " + bad + ": tensor 'x': shape must be a list of non-negative integers");
  CHECK(OpenError(dir + "/missing.safetensors") ==
        "NOT_FOUND: " + dir + "/missing.safetensors: file not found");
}

TEST_CASE("weight store: a sharded model reads through its index", "[cpu]") {
  const std::string dir = testing::MakeScratchDir("st_sharded");
  auto tensors = SampleTensors();
  REQUIRE(WriteSafetensors(dir + "/model-00001-of-00002.safetensors", {tensors[0], tensors[1]}).ok());
  REQUIRE(WriteSafetensors(dir + "/model-00002-of-00002.safetensors", {tensors[2]}).ok());
  const std::string index = dir + "/model.safetensors.index.json";
  WriteFile(index, R"({"metadata": {"total_size": 24}, "weight_map": {
      "a": "model-00001-of-00002.safetensors", "b": "model-00001-of-00002.safetensors",
      "c": "model-00002-of-00002.safetensors"}})");
  const auto store = WeightStore::Open(dir);
  REQUIRE(store.ok());
  CHECK((*store)->TensorNames() == std::vector<std::string>{"a", "b", "c"});
  CHECK(Floats(*(*store)->Find("c")) == std::vector<float>{3.25f});

  WriteFile(index, R"({"weight_map": {"a": "model-00001-of-00002.safetensors",
                                      "c": "model-00003-of-00003.safetensors"}})");
  CHECK(WeightStore::Open(dir).status().ToString() ==
        "NOT_FOUND: " + index + ": names shard 'model-00003-of-00003.safetensors', which does not exist");
  WriteFile(index, R"({"weight_map": {"c": "model-00001-of-00002.safetensors"}})");
  CHECK(WeightStore::Open(dir).status().ToString() ==
        "DATA_LOSS: " + index + ": maps 'c' to shard 'model-00001-of-00002.safetensors', which has no such tensor");
  WriteFile(index, R"({"weight_map": {"c": "../model-00002-of-00002.safetensors"}})");
  CHECK(WeightStore::Open(dir).status().ToString() ==
        "INVALID_ARGUMENT: " + index + ": shard name '../model-00002-of-00002.safetensors' must be a plain file name in the model folder");
  WriteFile(index, R"({"weights": {}})");
  CHECK(WeightStore::Open(dir).status().ToString() ==
        "INVALID_ARGUMENT: " + index + ": missing 'weight_map' object");
  WriteFile(index, "{");
  CHECK(WeightStore::Open(dir).status().ToString() == "INVALID_ARGUMENT: " + index + ": malformed JSON");

  std::filesystem::remove(index);
  CHECK(WeightStore::Open(dir).status().ToString() ==
        "NOT_FOUND: " + dir + ": no model.safetensors or model.safetensors.index.json");
}

}  // namespace specd
