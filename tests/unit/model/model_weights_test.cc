#include <algorithm>

#include <catch2/catch.hpp>

#include "engine/model/model_weights.h"
#include "tests/model_fixtures.h"

namespace specd {
namespace {

// Rewrites the model's safetensors after `edit` changes its tensor list; returns the error
// ModelWeights::Load then reports.
template <typename Edit>
std::string LoadErrorAfter(const std::string& name, Edit edit) {
  const std::string dir = testing::MakeRandomModel(name, testing::TinyLlamaOptions());
  const std::string path = dir + "/model.safetensors";
  auto tensors = testing::ReadAllTensors(path);
  edit(tensors);
  REQUIRE(WriteSafetensors(path, tensors).ok());
  const auto config = LoadModelConfig(dir);
  REQUIRE(config.ok());
  const auto weights = ModelWeights::Load(dir, *config);
  REQUIRE_FALSE(weights.ok());
  return weights.status().ToString();
}

TensorToWrite& Named(std::vector<TensorToWrite>& tensors, const std::string& name) {
  auto it = std::find_if(tensors.begin(), tensors.end(), [&](const auto& t) { return t.name == name; });
  REQUIRE(it != tensors.end());
  return *it;
}

}  // namespace

TEST_CASE("model weights: every tensor of each architecture is present and checked", "[cpu]") {
  for (const Architecture architecture : {Architecture::kLlama, Architecture::kMistral, Architecture::kQwen2}) {
    for (const DType dtype : {DType::kBF16, DType::kF16, DType::kF32}) {
      RandomModelOptions options = testing::TinyLlamaOptions();
      options.architecture = architecture;
      options.dtype = dtype;
      options.tie_word_embeddings = architecture == Architecture::kQwen2;
      const std::string dir = testing::MakeRandomModel("weights_ok", options);
      const auto config = LoadModelConfig(dir);
      REQUIRE(config.ok());
      const auto weights = ModelWeights::Load(dir, *config);
      REQUIRE(weights.ok());
      const auto specs = ExpectedWeights(*config);
      // embedding + 9 per layer (+3 q/k/v biases for Qwen2) + norm (+ lm_head when untied)
      const size_t per_layer = architecture == Architecture::kQwen2 ? 12 : 9;
      CHECK(specs.size() == 2 + 2 * per_layer + (options.tie_word_embeddings ? 0 : 1));
      for (const auto& spec : specs) {
        CHECK((*weights)->Get(spec.name).shape == spec.shape);
        CHECK((*weights)->Get(spec.name).dtype == dtype);
      }
    }
  }
}

TEST_CASE("model weights: a missing tensor, a wrong shape or dtype is named", "[cpu]") {
  const std::string missing = LoadErrorAfter("missing_tensor", [](auto& tensors) {
    tensors.erase(std::remove_if(tensors.begin(), tensors.end(),
                                 [](const auto& t) { return t.name == "model.layers.1.mlp.up_proj.weight"; }),
                  tensors.end());
  });
  CHECK(missing.rfind("NOT_FOUND: ", 0) == 0);
  CHECK(missing.find("model.safetensors: missing tensor 'model.layers.1.mlp.up_proj.weight'") != std::string::npos);

  const std::string shape = LoadErrorAfter("wrong_shape", [](auto& tensors) {
    auto& t = Named(tensors, "model.layers.0.self_attn.k_proj.weight");
    t.shape = {64, 32};
    t.data.resize(64 * 32 * 4);
  });
  CHECK(shape.find("tensor 'model.layers.0.self_attn.k_proj.weight' has shape [64, 32] but the "
                   "config needs [32, 64]") != std::string::npos);
  CHECK(shape.rfind("INVALID_ARGUMENT: ", 0) == 0);

  const std::string dtype = LoadErrorAfter("wrong_dtype", [](auto& tensors) {
    Named(tensors, "model.norm.weight").dtype = DType::kI32;
  });
  CHECK(dtype.find("tensor 'model.norm.weight' has dtype I32 (supported: BF16, F16, F32)") != std::string::npos);
  CHECK(dtype.rfind("UNIMPLEMENTED: ", 0) == 0);
}

}  // namespace specd
