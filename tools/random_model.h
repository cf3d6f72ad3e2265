// Deterministic random-weight model folders for tests and benchmarks: config.json (classic
// Hugging Face form), generation_config.json, model.safetensors and a byte-level BPE
// tokenizer.json whose vocabulary covers every id of the model (real sizes such as 128256
// included). The same options and seed always give the same bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "engine/base/status.h"
#include "engine/model/dtype.h"
#include "engine/model/model_config.h"

namespace specd {

struct RandomModelOptions {
  Architecture architecture = Architecture::kLlama;
  int64_t vocab_size = 512;
  int64_t hidden_size = 64;
  int64_t intermediate_size = 128;
  int64_t num_layers = 2;
  int64_t num_heads = 4;
  int64_t num_kv_heads = 4;
  int64_t head_dim = 0;  // 0: hidden_size / num_heads
  int64_t max_position_embeddings = 2048;
  double rms_norm_eps = 1e-5;
  double rope_theta = 10000.0;
  bool llama3_rope_scaling = false;  // factor 8, low 1, high 4, original context 64
  bool tie_word_embeddings = false;
  bool attention_bias = false;  // Llama: q/k/v/o biases (Qwen2 always has q/k/v biases)
  std::optional<int64_t> sliding_window;  // Mistral only
  DType dtype = DType::kBF16;
  uint64_t seed = 0;
};

// The special tokens of the generated tokenizer, right after the 256 byte tokens.
inline constexpr int32_t kRandomModelBosId = 256;
inline constexpr int32_t kRandomModelEosId = 257;
inline constexpr int64_t kRandomModelMinVocab = 258;
// Past the bytes and bos/eos: every two-byte and every three-byte token.
inline constexpr int64_t kRandomModelMaxVocab = kRandomModelMinVocab + (int64_t{1} << 16) + (int64_t{1} << 24);

// Writes the folder (created if needed). INVALID_ARGUMENT for inconsistent options.
Status WriteRandomModel(const RandomModelOptions& options, const std::string& out_dir);

}  // namespace specd
