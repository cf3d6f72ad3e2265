#include <algorithm>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "engine/runner/cpu_runner.h"
#include "engine/tokenizer/tokenizer.h"
#include "server/generate_command.h"
#include "tests/model_fixtures.h"
#include "tests/test_paths.h"

namespace specd {
namespace {

struct CommandResult {
  Status status;
  std::string out;
};

CommandResult Run(const std::vector<std::string>& args) {
  std::ostringstream out;
  Status status = RunGenerateCommand(args, out);
  return {status, out.str()};
}

}  // namespace

TEST_CASE("specd generate --json prints prompt ids, the greedy continuation and its text", "[cpu]") {
  const std::string dir = testing::MakeRandomModel("generate_json", testing::TinyLlamaOptions());
  const auto result = Run({"--model", dir, "--prompt", "hello world", "--max-tokens", "12", "--json"});
  REQUIRE(result.status.ok());
  const auto json = nlohmann::json::parse(result.out);
  const auto prompt_ids = json.at("prompt_token_ids").get<std::vector<int32_t>>();
  const auto output_ids = json.at("token_ids").get<std::vector<int32_t>>();

  const auto tokenizer = Tokenizer::FromFile(dir + "/tokenizer.json");
  REQUIRE(tokenizer.ok());
  CHECK(prompt_ids == (*tokenizer)->Encode("hello world", true).value());
  CHECK(prompt_ids.front() == kRandomModelBosId);
  REQUIRE(!output_ids.empty());
  const bool stopped = json.at("finish_reason") == "stop";
  if (stopped) {
    CHECK(output_ids.back() == kRandomModelEosId);
    CHECK(output_ids.size() <= 12u);
  } else {
    CHECK(json.at("finish_reason") == "length");
    CHECK(output_ids.size() == 12u);
  }

  // Every generated token is the argmax of one prefill over prompt + the tokens before it.
  std::vector<int32_t> all = prompt_ids;
  all.insert(all.end(), output_ids.begin(), output_ids.end() - 1);
  auto runner = CpuRunner::Create(dir, {.block_size = 16, .num_blocks = 4});
  REQUIRE(runner.ok());
  testing::TestSequence seq{all, 0, {0, 1, 2, 3}, {}};
  for (size_t i = prompt_ids.size() - 1; i < all.size(); ++i) seq.logits_indices.push_back(static_cast<int32_t>(i));
  const auto output = (*runner)->Execute(SchedulerOutput{{seq.view()}});
  REQUIRE(output.ok());
  for (size_t i = 0; i < output_ids.size(); ++i) {
    const float* row = output->row(static_cast<int64_t>(i));
    CHECK(std::max_element(row, row + output->vocab_size) - row == output_ids[i]);
  }
  std::vector<int32_t> text_ids = output_ids;
  if (stopped) text_ids.pop_back();
  CHECK(json.at("text") == (*tokenizer)->Decode(text_ids, /*skip_special_tokens=*/true).value());

  // Without --json the same text is printed, then a newline.
  const auto plain = Run({"--model", dir, "--prompt", "hello world", "--max-tokens", "12"});
  REQUIRE(plain.status.ok());
  CHECK(plain.out == json.at("text").get<std::string>() + "\n");
}

TEST_CASE("specd generate: clear errors for a missing model, an empty prompt, bad flags", "[cpu]") {
  const std::string dir = testing::MakeRandomModel("generate_errors", testing::TinyLlamaOptions());
  CHECK(Run({"--model", "/no/such/model", "--prompt", "hi"}).status.ToString() ==
        "NOT_FOUND: /no/such/model: model folder not found");
  CHECK(Run({"--model", dir, "--prompt", ""}).status.ToString() == "INVALID_ARGUMENT: --prompt is empty");
  CHECK(Run({"--model", dir}).status.ToString() == "INVALID_ARGUMENT: --prompt TEXT is required");
  CHECK(Run({"--model", dir, "--prompt", "hi", "--max-tokens", "0"}).status.ToString() ==
        "INVALID_ARGUMENT: --max-tokens must be at least 1");
  CHECK(Run({"--model", dir, "--prompt", "hi", "--max-tokens", "ten"}).status.ToString() ==
        "INVALID_ARGUMENT: --max-tokens must be an integer, got 'ten'");
  CHECK(Run({"--model", dir, "--prompt", "hi", "--temprature", "1"}).status.ToString() ==
        "INVALID_ARGUMENT: unknown flag --temprature");
  CHECK(Run({"--model", dir, "--prompt", "hi", "--temperature", "-1"}).status.ToString() ==
        "INVALID_ARGUMENT: temperature must be >= 0, got -1");
  CHECK(Run({"--model", dir, "--prompt", std::string(300, 'x')}).status.ToString() ==
        "INVALID_ARGUMENT: the prompt has 301 tokens; the context length is 256");
}

TEST_CASE("specd generate: seeded sampling repeats; a stop string cuts the text there", "[cpu]") {
  const std::string dir = testing::MakeRandomModel("generate_sampling", testing::TinyLlamaOptions());
  const std::vector<std::string> sampled = {"--model", dir, "--prompt", "the cat", "--max-tokens", "20",
                                            "--temperature", "1", "--json", "--seed"};
  const auto first = Run([&] { auto a = sampled; a.push_back("7"); return a; }());
  const auto again = Run([&] { auto a = sampled; a.push_back("7"); return a; }());
  const auto other = Run([&] { auto a = sampled; a.push_back("8"); return a; }());
  REQUIRE(first.status.ok());
  CHECK(first.out == again.out);
  CHECK(nlohmann::json::parse(first.out).at("token_ids") != nlohmann::json::parse(other.out).at("token_ids"));

  const auto greedy = Run({"--model", dir, "--prompt", "the cat", "--max-tokens", "30", "--json"});
  REQUIRE(greedy.status.ok());
  const std::string text = nlohmann::json::parse(greedy.out).at("text");
  REQUIRE(text.size() >= 12);
  const std::string stop = text.substr(text.size() / 2, 3);
  const auto stopped = Run({"--model", dir, "--prompt", "the cat", "--max-tokens", "30", "--json", "--stop", stop});
  REQUIRE(stopped.status.ok());
  const auto json = nlohmann::json::parse(stopped.out);
  CHECK(json.at("text") == text.substr(0, text.find(stop)));
  CHECK(json.at("finish_reason") == "stop");
  CHECK(json.at("stop") == stop);
}

TEST_CASE("specd generate serves the bundled target when no --model is given", "[cpu]") {
  const auto by_default = Run({"--prompt", "import os", "--max-tokens", "8", "--json"});
  REQUIRE(by_default.status.ok());
  const auto explicit_model = Run({"--model", testing::SourceDir() + "/models/specd-code-target",
                                   "--prompt", "import os", "--max-tokens", "8", "--json"});
  REQUIRE(explicit_model.status.ok());
  CHECK(by_default.out == explicit_model.out);
  CHECK(nlohmann::json::parse(by_default.out).at("token_ids").size() == 8);
}

}  // namespace specd
