// The CUDA runner against the fp32 CPU reference runner on the same weights (random models of
// several architectures, head dims 64 and 128), for prefill, chunked prefill, decode and batches
// of mixed sequences; and against Hugging Face transformers' logits for the bundled target.
// bf16 activations: logits agree to a relative error of a few 1e-3, and greedy tokens nearly
// always.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "engine/model/safetensors_file.h"
#include "engine/runner/cpu_runner.h"
#include "engine/runner/cuda/cuda_runner.h"
#include "tools/random_model.h"

namespace specd {
namespace {

constexpr double kMaxRelativeError = 2e-2;

std::string ScratchModel(const std::string& name, const RandomModelOptions& options) {
  const auto dir = std::filesystem::temp_directory_path() / ("specd_gpu_" + name);
  std::filesystem::remove_all(dir);
  REQUIRE(WriteRandomModel(options, dir.string()).ok());
  return dir.string();
}

RandomModelOptions Variant(const std::string& name) {
  RandomModelOptions o;
  o.vocab_size = 512;
  o.hidden_size = 256;
  o.intermediate_size = 512;
  o.num_layers = 2;
  o.num_heads = 4;
  o.num_kv_heads = 1;  // GQA 4, head_dim 64
  o.max_position_embeddings = 512;
  o.dtype = DType::kBF16;
  o.seed = 11;
  if (name == "head_dim_128_llama3_tied") {
    o.num_heads = 8;
    o.num_kv_heads = 1;  // GQA 8
    o.head_dim = 128;
    o.llama3_rope_scaling = true;
    o.tie_word_embeddings = true;
  }
  if (name == "qwen2_bias_mha") {
    o.architecture = Architecture::kQwen2;
    o.num_kv_heads = 4;  // GQA 1
  }
  if (name == "mistral_window") {
    o.architecture = Architecture::kMistral;
    o.sliding_window = 9;
  }
  return o;
}

double RelativeError(const std::vector<float>& got, const std::vector<float>& want) {
  REQUIRE(got.size() == want.size());
  double diff = 0, norm = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    REQUIRE(std::isfinite(got[i]));
    diff += std::pow(static_cast<double>(got[i]) - want[i], 2);
    norm += std::pow(static_cast<double>(want[i]), 2);
  }
  return std::sqrt(diff / norm);
}

// Sequences fed chunk by chunk to both runners together.
struct Feed {
  std::vector<int32_t> tokens;
  std::vector<int32_t> blocks;
  std::vector<size_t> chunks;
};

}  // namespace

TEST_CASE("CUDA runner matches the CPU runner on random models", "[gpu]") {
  const std::string variant = GENERATE("gqa4_head_dim_64", "head_dim_128_llama3_tied", "qwen2_bias_mha", "mistral_window");
  CAPTURE(variant);
  const std::string dir = ScratchModel(variant, Variant(variant));
  auto cpu = CpuRunner::Create(dir, {.block_size = 16, .num_blocks = 64});
  auto gpu = CudaRunner::Create(dir, {.block_size = 16, .num_blocks = 64, .gpu_memory_utilization = 0.9, .max_num_tokens = 256});
  REQUIRE(cpu.ok());
  REQUIRE(gpu.status().ToString() == "OK");

  std::mt19937 rng(3);
  std::uniform_int_distribution<int32_t> token(3, 511);
  const auto random_tokens = [&](int n) {
    std::vector<int32_t> t(static_cast<size_t>(n));
    for (auto& x : t) x = token(rng);
    return t;
  };
  // A long prefill in uneven chunks, a short prompt decoded token by token, a verify-like run.
  std::vector<Feed> feeds = {{random_tokens(70), {9, 3, 17, 0, 30}, {33, 1, 20, 16}},
                             {random_tokens(12), {5, 6}, {5, 1, 1, 1, 1, 1, 1, 1}},
                             {random_tokens(40), {40, 41, 42}, {1, 5, 30, 4}}};
  std::vector<size_t> next(feeds.size(), 0), computed(feeds.size(), 0);
  int steps = 0;
  while (true) {
    SchedulerOutput batch;
    for (size_t f = 0; f < feeds.size(); ++f) {
      if (next[f] == feeds[f].chunks.size()) continue;
      const size_t size = feeds[f].chunks[next[f]];
      ScheduledSequence seq;
      seq.token_ids = std::span<const int32_t>(feeds[f].tokens).subspan(computed[f], size);
      seq.start_position = static_cast<int64_t>(computed[f]);
      seq.block_table = feeds[f].blocks;
      for (size_t i = 0; i < size; ++i) seq.logits_indices.push_back(static_cast<int32_t>(i));
      batch.sequences.push_back(seq);
      computed[f] += size;
      ++next[f];
    }
    if (batch.sequences.empty()) break;
    const auto want = (*cpu)->Execute(batch);
    const auto got = (*gpu)->Execute(batch);
    REQUIRE(want.ok());
    REQUIRE(got.status().ToString() == "OK");
    const double error = RelativeError(got->logits, want->logits);
    CAPTURE(steps, error);
    CHECK(error < kMaxRelativeError);
    ++steps;
  }
  CHECK(steps >= 8);
}

TEST_CASE("CUDA runner matches transformers' logits for the bundled target", "[gpu]") {
  const std::string source = SPECD_SOURCE_DIR;
  std::ifstream in(source + "/tests/data/bundled_target/references.json");
  std::stringstream text;
  text << in.rdbuf();
  const auto references = nlohmann::json::parse(text.str());
  const auto logits = SafetensorsFile::Open(source + "/tests/data/bundled_target/logits.safetensors");
  REQUIRE(logits.ok());
  auto gpu = CudaRunner::Create(source + "/models/specd-code-target",
                                {.block_size = 16, .num_blocks = 64, .gpu_memory_utilization = 0.9, .max_num_tokens = 512});
  REQUIRE(gpu.status().ToString() == "OK");
  for (int index = 0; index < 2; ++index) {
    const auto& prompt = references["prompts"][static_cast<size_t>(index)];
    std::vector<int32_t> tokens = prompt["prompt_ids"].get<std::vector<int32_t>>();
    const auto output_ids = prompt["output_ids"].get<std::vector<int32_t>>();
    const size_t prompt_length = tokens.size();
    tokens.insert(tokens.end(), output_ids.begin(), output_ids.end() - 1);
    std::vector<int32_t> blocks(8);
    std::iota(blocks.begin(), blocks.end(), 0);
    ScheduledSequence seq;
    seq.token_ids = tokens;
    seq.block_table = blocks;
    for (size_t i = prompt_length - 1; i < tokens.size(); ++i) seq.logits_indices.push_back(static_cast<int32_t>(i));
    const auto got = (*gpu)->Execute(SchedulerOutput{{seq}});
    REQUIRE(got.ok());
    const TensorView* want = logits.value()->Find("prompt_" + std::to_string(index));
    REQUIRE(want != nullptr);
    std::vector<float> expected(static_cast<size_t>(want->num_elements()));
    ConvertToFloat(want->dtype, want->data, expected);
    const double error = RelativeError(got->logits, expected);
    int agree = 0;
    for (int64_t r = 0; r < got->num_rows(); ++r) {
      const float* row = got->row(r);
      agree += std::max_element(row, row + got->vocab_size) - row == output_ids[static_cast<size_t>(r)] ? 1 : 0;
    }
    CAPTURE(index, error, agree);
    CHECK(error < kMaxRelativeError);
    CHECK(agree >= static_cast<int>(output_ids.size()) - 2);  // greedy ties may flip in bf16
  }
}

}  // namespace specd

namespace specd {

TEST_CASE("CUDA runner runs a batch larger than it was sized for in pieces, same logits", "[gpu]") {
  const std::string dir = ScratchModel("pieces", Variant("gqa4_head_dim_64"));
  const auto runner = [&](int64_t max_tokens) {
    auto made = CudaRunner::Create(dir, {.block_size = 16, .num_blocks = 64, .max_num_tokens = max_tokens,
                                         .batch_invariant = true});
    REQUIRE(made.status().ToString() == "OK");
    return std::move(made).value();
  };
  const auto whole = runner(256), pieces = runner(16);
  std::mt19937 rng(9);
  std::uniform_int_distribution<int32_t> token(3, 511);
  std::vector<std::vector<int32_t>> prompts = {std::vector<int32_t>(70), std::vector<int32_t>(5), std::vector<int32_t>(40)};
  for (auto& prompt : prompts) {
    for (auto& t : prompt) t = token(rng);
  }
  const std::vector<std::vector<int32_t>> tables = {{9, 3, 17, 0, 30}, {5}, {40, 41, 42}};
  SchedulerOutput batch;
  for (size_t s = 0; s < prompts.size(); ++s) {
    ScheduledSequence seq;
    seq.token_ids = prompts[s];
    seq.block_table = tables[s];
    seq.logits_indices = s == 0 ? std::vector<int32_t>{2, 15, 16, 40, 69} : std::vector<int32_t>{static_cast<int32_t>(prompts[s].size() - 1)};
    batch.sequences.push_back(seq);
  }
  const auto want = whole->Execute(batch);
  const auto got = pieces->Execute(batch);
  REQUIRE(want.ok());
  REQUIRE(got.status().ToString() == "OK");
  CHECK(got->logits == want->logits);
}

}  // namespace specd
