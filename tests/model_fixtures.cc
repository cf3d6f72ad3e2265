#include "tests/model_fixtures.h"

#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "engine/model/safetensors_file.h"
#include "tests/test_paths.h"

namespace specd::testing {

RandomModelOptions TinyLlamaOptions() {
  RandomModelOptions options;
  options.vocab_size = 300;
  options.hidden_size = 64;
  options.intermediate_size = 96;
  options.num_layers = 2;
  options.num_heads = 4;
  options.num_kv_heads = 2;
  options.max_position_embeddings = 256;
  options.dtype = DType::kF32;
  options.seed = 42;
  return options;
}

std::string MakeRandomModel(const std::string& name, const RandomModelOptions& options) {
  const std::string dir = MakeScratchDir(name);
  const Status status = WriteRandomModel(options, dir);
  REQUIRE(status.ToString() == "OK");
  return dir;
}

std::vector<TensorToWrite> ReadAllTensors(const std::string& path) {
  auto file = SafetensorsFile::Open(path);
  REQUIRE(file.ok());
  std::vector<TensorToWrite> tensors;
  for (const auto& name : (*file)->TensorNames()) {
    const TensorView* view = (*file)->Find(name);
    tensors.push_back({name, view->dtype, view->shape,
                       std::vector<std::byte>(view->data.begin(), view->data.end())});
  }
  return tensors;
}

ScheduledSequence TestSequence::view() const {
  ScheduledSequence seq;
  seq.token_ids = tokens;
  seq.start_position = start_position;
  seq.block_table = block_table;
  seq.logits_indices = logits_indices;
  return seq;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  REQUIRE(out.good());
}

}  // namespace specd::testing
