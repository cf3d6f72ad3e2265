#include <filesystem>

#include <catch2/catch.hpp>

#include "engine/model/model_config.h"
#include "tests/model_fixtures.h"
#include "tests/test_paths.h"

namespace specd {
namespace {

// Llama-3.2-1B's config.json as Hugging Face publishes it (classic form).
constexpr char kLlama32Classic[] = R"({
  "architectures": ["LlamaForCausalLM"], "attention_bias": false, "bos_token_id": 128000,
  "eos_token_id": [128001, 128008, 128009], "head_dim": 64, "hidden_act": "silu",
  "hidden_size": 2048, "intermediate_size": 8192, "max_position_embeddings": 131072,
  "mlp_bias": false, "model_type": "llama", "num_attention_heads": 32, "num_hidden_layers": 16,
  "num_key_value_heads": 8, "rms_norm_eps": 1e-05,
  "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "rope_theta": 500000.0, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
  "vocab_size": 128256})";

// The same model as transformers 5 writes it.
constexpr char kLlama32Transformers5[] = R"({
  "architectures": ["LlamaForCausalLM"], "attention_bias": false, "bos_token_id": 128000,
  "eos_token_id": [128001, 128008, 128009], "head_dim": 64, "hidden_act": "silu",
  "hidden_size": 2048, "intermediate_size": 8192, "max_position_embeddings": 131072,
  "mlp_bias": false, "model_type": "llama", "num_attention_heads": 32, "num_hidden_layers": 16,
  "num_key_value_heads": 8, "rms_norm_eps": 1e-05,
  "rope_parameters": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                      "original_max_position_embeddings": 8192, "rope_type": "llama3",
                      "rope_theta": 500000.0},
  "tie_word_embeddings": true, "dtype": "bfloat16", "vocab_size": 128256})";

void CheckLlama32(const ModelConfig& c) {
  CHECK(c.architecture == Architecture::kLlama);
  CHECK(c.vocab_size == 128256);
  CHECK(c.hidden_size == 2048);
  CHECK(c.intermediate_size == 8192);
  CHECK(c.num_hidden_layers == 16);
  CHECK(c.num_attention_heads == 32);
  CHECK(c.num_key_value_heads == 8);
  CHECK(c.head_dim == 64);
  CHECK(c.max_position_embeddings == 131072);
  CHECK(c.rms_norm_eps == Approx(1e-5));
  CHECK(c.rope.type == RopeType::kLlama3);
  CHECK(c.rope.theta == 500000.0);
  CHECK(c.rope.factor == 32.0);
  CHECK(c.rope.low_freq_factor == 1.0);
  CHECK(c.rope.high_freq_factor == 4.0);
  CHECK(c.rope.original_max_position_embeddings == 8192);
  CHECK(c.tie_word_embeddings);
  CHECK_FALSE(c.qkv_bias);
  CHECK(c.bos_token_id == 128000);
  CHECK(c.eos_token_ids == std::vector<int32_t>{128001, 128008, 128009});
  CHECK(c.torch_dtype == "bfloat16");
}

std::string ParseError(const std::string& json) {
  const auto config = ParseModelConfig(json, "x/config.json");
  REQUIRE_FALSE(config.ok());
  return config.status().ToString();
}

}  // namespace

TEST_CASE("config.json: the classic and the transformers 5 form read the same", "[cpu]") {
  const auto classic = ParseModelConfig(kLlama32Classic, "config.json");
  REQUIRE(classic.ok());
  CheckLlama32(*classic);
  const auto v5 = ParseModelConfig(kLlama32Transformers5, "config.json");
  REQUIRE(v5.ok());
  CheckLlama32(*v5);
}

TEST_CASE("config.json: Qwen2 has q/k/v biases, Mistral a sliding window", "[cpu]") {
  const auto qwen = ParseModelConfig(R"({"architectures": ["Qwen2ForCausalLM"], "vocab_size": 151936,
      "hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24,
      "num_attention_heads": 14, "num_key_value_heads": 2, "max_position_embeddings": 32768,
      "rope_theta": 1000000.0, "sliding_window": 32768, "use_sliding_window": false,
      "tie_word_embeddings": true, "eos_token_id": 151643, "bos_token_id": 151643})", "q");
  REQUIRE(qwen.ok());
  CHECK(qwen->architecture == Architecture::kQwen2);
  CHECK(qwen->qkv_bias);
  CHECK_FALSE(qwen->o_proj_bias);
  CHECK(qwen->head_dim == 64);
  CHECK_FALSE(qwen->sliding_window.has_value());
  CHECK(qwen->rope.theta == 1000000.0);

  const auto mistral = ParseModelConfig(R"({"architectures": ["MistralForCausalLM"],
      "vocab_size": 32000, "hidden_size": 4096, "intermediate_size": 14336,
      "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
      "max_position_embeddings": 32768, "sliding_window": 4096, "eos_token_id": 2})", "m");
  REQUIRE(mistral.ok());
  CHECK(mistral->sliding_window == 4096);
  CHECK(mistral->num_key_value_heads == 8);
  CHECK(mistral->rope.type == RopeType::kDefault);
  CHECK(mistral->rope.theta == 10000.0);
  CHECK_FALSE(mistral->qkv_bias);

  const auto llama_bias = ParseModelConfig(R"({"architectures": ["LlamaForCausalLM"],
      "vocab_size": 10, "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1,
      "num_attention_heads": 2, "max_position_embeddings": 16, "attention_bias": true,
      "rope_scaling": {"type": "linear", "factor": 2.0}})", "l");
  REQUIRE(llama_bias.ok());
  CHECK(llama_bias->qkv_bias);
  CHECK(llama_bias->o_proj_bias);
  CHECK(llama_bias->num_key_value_heads == 2);
  CHECK(llama_bias->rope.type == RopeType::kLinear);
  CHECK(llama_bias->rope.factor == 2.0);
}

TEST_CASE("config.json: bad content gets one error naming the file and the field", "[cpu]") {
  CHECK(ParseError("{not json") == "INVALID_ARGUMENT: x/config.json: malformed JSON");
  CHECK(ParseError("[1, 2]") == "INVALID_ARGUMENT: x/config.json: not a JSON object");
  CHECK(ParseError(R"({"architectures": ["GPT2LMHeadModel"]})") ==
        "UNIMPLEMENTED: x/config.json: architecture 'GPT2LMHeadModel' is not supported "
        "(supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM)");
  const std::string base = R"("architectures": ["LlamaForCausalLM"], "vocab_size": 10,
      "intermediate_size": 8, "num_hidden_layers": 1, "max_position_embeddings": 16)";
  CHECK(ParseError("{" + base + R"(, "num_attention_heads": 2})") ==
        "INVALID_ARGUMENT: x/config.json: missing required field 'hidden_size'");
  CHECK(ParseError("{" + base + R"(, "hidden_size": "big", "num_attention_heads": 2})") ==
        "INVALID_ARGUMENT: x/config.json: 'hidden_size' must be a positive integer, got \"big\"");
  CHECK(ParseError("{" + base + R"(, "hidden_size": 12, "num_attention_heads": 3, "num_key_value_heads": 2})") ==
        "INVALID_ARGUMENT: x/config.json: num_attention_heads (3) is not a multiple of "
        "num_key_value_heads (2)");
  CHECK(ParseError("{" + base + R"(, "hidden_size": 8, "num_attention_heads": 2, "rope_scaling": {"rope_type": "yarn", "factor": 4}})") ==
        "UNIMPLEMENTED: x/config.json: rope type 'yarn' is not supported (supported: default, "
        "linear, llama3)");
  CHECK(ParseError("{" + base + R"(, "hidden_size": 8, "num_attention_heads": 2, "hidden_act": "gelu"})") ==
        "UNIMPLEMENTED: x/config.json: hidden_act \"gelu\" is not supported (silu only)");
  CHECK(ParseError("{" + base + R"(, "hidden_size": 8, "num_attention_heads": 2, "eos_token_id": 99})") ==
        "INVALID_ARGUMENT: x/config.json: eos_token_id 99 is outside the vocabulary");
  CHECK(ParseError(R"({"architectures": ["Qwen2ForCausalLM"], "vocab_size": 10, "hidden_size": 8,
      "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
      "max_position_embeddings": 16, "use_sliding_window": true})") ==
        "UNIMPLEMENTED: x/config.json: Qwen2 use_sliding_window is not supported");
}

TEST_CASE("model folder: generation_config.json adds eos ids; a missing config is named", "[cpu]") {
  const std::string dir = testing::MakeRandomModel("gen_config", testing::TinyLlamaOptions());
  testing::WriteFile(dir + "/generation_config.json", R"({"bos_token_id": 256, "eos_token_id": [257, 7]})");
  const auto config = LoadModelConfig(dir);
  REQUIRE(config.ok());
  CHECK(config->eos_token_ids == std::vector<int32_t>{257, 7});
  CHECK(config->bos_token_id == 256);

  testing::WriteFile(dir + "/generation_config.json", "{oops");
  CHECK(LoadModelConfig(dir).status().ToString() ==
        "INVALID_ARGUMENT: " + dir + "/generation_config.json: malformed JSON");

  std::filesystem::remove(dir + "/config.json");
  CHECK(LoadModelConfig(dir).status().ToString() == "NOT_FOUND: " + dir + "/config.json: file not found");
  CHECK(LoadModelConfig(dir + "/nope").status().ToString() ==
        "NOT_FOUND: " + dir + "/nope: model folder not found");
}

}  // namespace specd
