// Prompts of a given length: random ids avoid eos and repeat for a seed; corpus prompts follow
// the documents in order, across document ends and around the corpus; prompt files split at
// separator lines; request i is planned the same way whatever else is planned.
#include <set>

#include <catch2/catch.hpp>

#include "bench/load/prompt_documents.h"
#include "bench/load/request_planner.h"

namespace specd::bench {

TEST_CASE("prompts: random ids are in the vocabulary, never eos, and repeat for a seed", "[cpu]") {
  const PromptSource source = PromptSource::RandomTokens(6, {1, 3, 1});
  SeededRng rng(5), again(5);
  const std::vector<int32_t> ids = source.Make(500, rng);
  REQUIRE(ids.size() == 500);
  CHECK(std::set<int32_t>(ids.begin(), ids.end()) == std::set<int32_t>{0, 2, 4, 5});
  CHECK(source.Make(500, again) == ids);
}

TEST_CASE("prompts: corpus prompts run from a document's start into the next ones", "[cpu]") {
  // corpus: [10 11 12][20 21][30 31 32 33], prefix [0]
  const PromptSource source = PromptSource::Corpus({0}, {{10, 11, 12}, {}, {20, 21}, {30, 31, 32, 33}});
  std::set<std::vector<int32_t>> seen;
  SeededRng rng(11);
  for (int i = 0; i < 100; ++i) seen.insert(source.Make(6, rng));
  CHECK(seen == std::set<std::vector<int32_t>>{{0, 10, 11, 12, 20, 21}, {0, 20, 21, 30, 31, 32}, {0, 30, 31, 32, 33, 10}});
  CHECK(source.Make(1, rng) == std::vector<int32_t>{0});  // the prefix, cut to the length
  CHECK(source.Make(12, rng).size() == 12);                // around the corpus more than once
}

TEST_CASE("prompt files: documents split at separator lines, blank ones dropped", "[cpu]") {
  const std::string text = "def a():\n    return 1\n%%\n\n  \n%%\nclass B:\n%% not a separator\n%%";
  CHECK(SplitDocuments(text, "%%") == std::vector<std::string>{"def a():\n    return 1\n", "class B:\n%% not a separator\n"});
  CHECK(SplitDocuments("one\n", "%%") == std::vector<std::string>{"one\n"});
  const auto missing = ReadDocuments("/nonexistent/prompts.txt", "%%");
  CHECK(missing.status().ToString() == "FAILED_PRECONDITION: /nonexistent/prompts.txt: cannot open the prompt file");
}

TEST_CASE("planner: request i depends only on the seed and i", "[cpu]") {
  PromptSpec prompt;
  prompt.tokens = LengthDistribution::Fixed(5);
  OutputSpec output;
  nlohmann::json lengths = {{"tokens", {{"distribution", "uniform"}, {"min", 1}, {"max", 1000}}}};
  output.tokens = *LengthDistribution::Parse(JsonFields(lengths, "test"), "tokens");
  const RequestPlanner planner(3, prompt, output, PromptSource::RandomTokens(100, {}));
  const PlannedRequest late_first = planner.Make(7);
  const PlannedRequest zero = planner.Make(0);
  CHECK(planner.Make(7).prompt_ids == late_first.prompt_ids);
  CHECK(planner.Make(7).max_tokens == late_first.max_tokens);
  CHECK(planner.Make(7).sampling_seed == late_first.sampling_seed);
  CHECK(zero.prompt_ids.size() == 5);
  CHECK(zero.prompt_ids != late_first.prompt_ids);
  CHECK(zero.sampling_seed != late_first.sampling_seed);
  const RequestPlanner other_seed(4, prompt, output, PromptSource::RandomTokens(100, {}));
  CHECK(other_seed.Make(7).prompt_ids != late_first.prompt_ids);
}

}  // namespace specd::bench
