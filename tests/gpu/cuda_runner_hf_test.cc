// The CUDA runner against Hugging Face transformers in bf16 on the GPU, on the same weights
// (tests/data/gpu_reference/references.json, made by tools/reference/make_gpu_references.py):
// the small random models with head dims 64 and 128 (GQA 1, 4, 8; Qwen2 biases; a Mistral
// sliding window; fp16 and fp32 checkpoints rounded to bf16) and the bundled trained pair.
//   - logits of every prompt position within bf16 tolerance;
//   - greedy continuations equal token for token. Two bf16 pipelines may order a near tie
//     differently, so a continuation may part from transformers' only at a step where
//     transformers' two best logits were closer than kTieErrors times the RMS difference of the
//     two runners' logits (measured on the model's prompts); from there on the texts differ and
//     the comparison of that prompt ends.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <numeric>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "engine/model/safetensors_file.h"
#include "engine/runner/cuda/cuda_runner.h"

namespace specd {
namespace {

constexpr double kMaxRelativeError = 3e-2;
constexpr double kTieErrors = 4.0;
constexpr int64_t kBlockSize = 16;

const std::string kSource = SPECD_SOURCE_DIR;

nlohmann::json ReadReferences() {
  std::ifstream in(kSource + "/tests/data/gpu_reference/references.json");
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str());
}

struct LogitError {
  double relative = 0;  // |got - want|_2 / |want|_2
  double rms = 0;       // root mean square of got - want
};

LogitError CompareLogits(const ModelOutput& got, const TensorView& want) {
  std::vector<float> expected(static_cast<size_t>(want.num_elements()));
  ConvertToFloat(want.dtype, want.data, expected);
  REQUIRE(expected.size() == got.logits.size());
  double diff = 0, norm = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    REQUIRE(std::isfinite(got.logits[i]));
    diff += std::pow(static_cast<double>(got.logits[i]) - expected[i], 2);
    norm += std::pow(static_cast<double>(expected[i]), 2);
  }
  return {std::sqrt(diff / norm), std::sqrt(diff / static_cast<double>(expected.size()))};
}

// The runner's logits for every position of the prompt, against transformers'.
LogitError PromptLogitError(CudaRunner& runner, const std::vector<int32_t>& prompt, const TensorView& want) {
  std::vector<int32_t> blocks(prompt.size() / kBlockSize + 1);
  std::iota(blocks.begin(), blocks.end(), 0);
  ScheduledSequence seq;
  seq.token_ids = prompt;
  seq.block_table = blocks;
  seq.logits_indices.resize(prompt.size());
  std::iota(seq.logits_indices.begin(), seq.logits_indices.end(), 0);
  const auto got = runner.Execute(SchedulerOutput{{seq}});
  REQUIRE(got.ok());
  return CompareLogits(*got, want);
}

int32_t Argmax(const float* row, int64_t vocab) { return static_cast<int32_t>(std::max_element(row, row + vocab) - row); }

// Greedy continuation through the runner's KV cache (blocks 0, 1, ...), never stopping early.
std::vector<int32_t> Greedy(CudaRunner& runner, const std::vector<int32_t>& prompt, size_t new_tokens) {
  std::vector<int32_t> tokens = prompt;
  std::vector<int32_t> blocks((prompt.size() + new_tokens) / kBlockSize + 1);
  std::iota(blocks.begin(), blocks.end(), 0);
  while (tokens.size() < prompt.size() + new_tokens) {
    const size_t start = tokens.size() == prompt.size() ? 0 : tokens.size() - 1;
    ScheduledSequence seq;
    seq.token_ids = std::span<const int32_t>(tokens).subspan(start);
    seq.start_position = static_cast<int64_t>(start);
    seq.block_table = blocks;
    seq.logits_indices = {static_cast<int32_t>(tokens.size() - start - 1)};
    const auto output = runner.Execute(SchedulerOutput{{seq}});
    REQUIRE(output.status().ToString() == "OK");
    tokens.push_back(Argmax(output->row(0), output->vocab_size));
  }
  return std::vector<int32_t>(tokens.begin() + static_cast<std::ptrdiff_t>(prompt.size()), tokens.end());
}

// Index of the first differing token, or the length when equal.
size_t FirstDifference(const std::vector<int32_t>& got, const std::vector<int32_t>& want) {
  return static_cast<size_t>(std::mismatch(got.begin(), got.end(), want.begin()).first - got.begin());
}

}  // namespace

TEST_CASE("CUDA runner matches transformers in bf16", "[gpu]") {
  const nlohmann::json references = ReadReferences();
  for (const auto& [name, model] : references["models"].items()) {
    CAPTURE(name);
    auto runner = CudaRunner::Create(kSource + "/" + model["model_dir"].get<std::string>(),
                                     {.block_size = kBlockSize, .num_blocks = 64, .max_num_tokens = 512});
    REQUIRE(runner.status().ToString() == "OK");
    const auto logits = SafetensorsFile::Open(kSource + "/tests/data/gpu_reference/" +
                                              model["logits_file"].get<std::string>());
    REQUIRE(logits.ok());
    const auto& prompts = model["prompts"];
    LogitError worst;
    for (int64_t i = 0; i < model["logit_prompts"].get<int64_t>(); ++i) {
      CAPTURE(i);
      const TensorView* want = logits.value()->Find("prompt_" + std::to_string(i));
      REQUIRE(want != nullptr);
      const LogitError error =
          PromptLogitError(**runner, prompts[static_cast<size_t>(i)]["prompt_ids"].get<std::vector<int32_t>>(), *want);
      CHECK(error.relative < kMaxRelativeError);
      worst = {std::max(worst.relative, error.relative), std::max(worst.rms, error.rms)};
    }
    int equal = 0, near_tie = 0;
    for (size_t i = 0; i < prompts.size(); ++i) {
      CAPTURE(i);
      const auto want = prompts[i]["greedy_ids"].get<std::vector<int32_t>>();
      const auto margins = prompts[i]["greedy_margins"].get<std::vector<double>>();
      const std::vector<int32_t> got = Greedy(**runner, prompts[i]["prompt_ids"].get<std::vector<int32_t>>(), want.size());
      const size_t differ = FirstDifference(got, want);
      if (differ == want.size()) {
        ++equal;
        continue;
      }
      CAPTURE(differ, got[differ], want[differ], margins[differ], worst.rms);
      CHECK(margins[differ] < kTieErrors * worst.rms);
      ++near_tie;
    }
    std::cout << name << ": logits relative error <= " << worst.relative << ", RMS difference <= " << worst.rms
              << "; greedy equal for " << equal << " of "
              << prompts.size() << " prompts, " << near_tie << " parted at a near tie\n";
  }
}

}  // namespace specd
