// Model folders for tests: tiny random models, and ways to break them on purpose.
#pragma once

#include <string>
#include <vector>

#include "engine/model/safetensors_writer.h"
#include "engine/runner/model_runner.h"
#include "tools/random_model.h"

namespace specd::testing {

// A tiny Llama (2 layers, hidden 64, 4 heads / 2 KV heads, vocab 300, fp32) in a fresh folder.
RandomModelOptions TinyLlamaOptions();
std::string MakeRandomModel(const std::string& name, const RandomModelOptions& options);

// Every tensor of a safetensors file, as TensorToWrite, in file order of names.
std::vector<TensorToWrite> ReadAllTensors(const std::string& path);

// A sequence for ModelRunner::Execute that owns what its view points into; asks for logits only.
struct TestSequence {
  std::vector<int32_t> tokens;
  int64_t start_position = 0;
  std::vector<int32_t> block_table;
  std::vector<int32_t> logits_indices;

  // Valid while this TestSequence lives and is not modified.
  ScheduledSequence view() const;
};

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& content);

}  // namespace specd::testing
