// The bundled model pair through our whole stack (sharded safetensors, the transformers 5
// config form, the trained tokenizer, the CPU runner, greedy decoding): the continuations must
// equal the ones Hugging Face transformers produced when the models were trained
// (models/report.json, written by tools/train/evaluate.py in fp32).
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "server/generate_command.h"
#include "tests/model_fixtures.h"
#include "tests/test_paths.h"

namespace specd {

TEST_CASE("bundled models: greedy continuations equal transformers'", "[cpu]") {
  const auto report = nlohmann::json::parse(testing::ReadFile(testing::SourceDir() + "/models/report.json"));
  const int64_t sample_tokens = 96;  // evaluate.py --sample-tokens
  const auto& samples = report.at("samples");
  REQUIRE(samples.size() >= 6);
  for (const auto& [model, folder] : {std::pair{"target", "specd-code-target"}, std::pair{"draft", "specd-code-draft"}}) {
    for (const auto& sample : samples) {
      const std::string prompt = sample.at("prompt");
      CAPTURE(model, prompt);
      std::ostringstream out;
      const Status status = RunGenerateCommand(
          {"--model", testing::SourceDir() + "/models/" + folder, "--prompt", prompt,
           "--max-tokens", std::to_string(sample_tokens), "--json"}, out);
      REQUIRE(status.ok());
      CHECK(nlohmann::json::parse(out.str()).at("text") == sample.at(model));
    }
  }
}

}  // namespace specd
