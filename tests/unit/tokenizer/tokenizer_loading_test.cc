// Loading errors: every bad tokenizer.json is a Status naming the file and the problem.
#include <catch2/catch.hpp>
#include <fstream>

#include "tests/test_paths.h"
#include "tests/unit/tokenizer/tokenizer_test_util.h"

namespace specd::testing {
namespace {

// The load error of `config` (which must fail).
Status LoadError(const nlohmann::json& config) {
  const StatusOr<std::unique_ptr<Tokenizer>> result =
      Tokenizer::FromJsonString(config.dump(), "bad.json");
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().code() == StatusCode::kInvalidArgument);
  return result.status();
}

nlohmann::json ValidConfig() { return TokenizerJson(BpeModelJson({"a", "b", "ab"}, {"a b"})); }

TEST_CASE("Malformed JSON is refused with the file name", "[cpu][tokenizer]") {
  const auto result = Tokenizer::FromJsonString("{\"model\": [", "broken.json");
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(result.status().message(), Catch::StartsWith("broken.json: malformed JSON"));
  CHECK(Tokenizer::FromJsonString("[1, 2]", "list.json").status().message() ==
        "list.json: (root): expected a JSON object");
}

TEST_CASE("Missing or wrong model fields are refused", "[cpu][tokenizer]") {
  nlohmann::json no_model = ValidConfig();
  no_model.erase("model");
  CHECK(LoadError(no_model).message() == "bad.json: model: missing required field");

  nlohmann::json no_vocab = ValidConfig();
  no_vocab["model"].erase("vocab");
  CHECK(LoadError(no_vocab).message() == "bad.json: model.vocab: missing required field");

  nlohmann::json no_merges = ValidConfig();
  no_merges["model"].erase("merges");
  CHECK(LoadError(no_merges).message() == "bad.json: model.merges: missing required field");

  nlohmann::json bad_id = ValidConfig();
  bad_id["model"]["vocab"]["a"] = -3;
  CHECK(LoadError(bad_id).message() == "bad.json: model.vocab.a: expected a token id in [0, 2^31)");

  nlohmann::json bad_merge = ValidConfig();
  bad_merge["model"]["merges"] = {"a b c"};
  CHECK_THAT(LoadError(bad_merge).message(),
             Catch::StartsWith("bad.json: model.merges[0]: expected \"left right\""));

  nlohmann::json oov_merge = ValidConfig();
  oov_merge["model"]["merges"] = {"a b", "b x"};
  CHECK(LoadError(oov_merge).message() ==
        "bad.json: model.merges[1]: merge token 'x' is not in the vocabulary");
}

TEST_CASE("Non-BPE models are refused naming the type", "[cpu][tokenizer]") {
  for (const std::string type : {"WordPiece", "Unigram", "WordLevel"}) {
    nlohmann::json config = ValidConfig();
    config["model"]["type"] = type;
    CHECK(LoadError(config).message() ==
          "bad.json: model: unsupported model type '" + type + "' (only BPE is supported)");
  }
  nlohmann::json untyped = ValidConfig();
  untyped["model"].erase("type");
  CHECK(Tokenizer::FromJsonString(untyped.dump(), "old.json").ok());  // merges: a BPE model
}

TEST_CASE("Unsupported BPE options are refused", "[cpu][tokenizer]") {
  nlohmann::json dropout = ValidConfig();
  dropout["model"]["dropout"] = 0.1;
  CHECK_THAT(LoadError(dropout).message(),
             Catch::StartsWith("bad.json: model.dropout: BPE dropout is not supported"));
  dropout["model"]["dropout"] = 0.0;
  CHECK(Tokenizer::FromJsonString(dropout.dump(), "ok.json").ok());

  nlohmann::json prefix = ValidConfig();
  prefix["model"]["continuing_subword_prefix"] = "##";
  CHECK(LoadError(prefix).message() ==
        "bad.json: model.continuing_subword_prefix: BPE continuing_subword_prefix '##' is not "
        "supported");
  nlohmann::json suffix = ValidConfig();
  suffix["model"]["end_of_word_suffix"] = "</w>";
  CHECK_THAT(LoadError(suffix).message(), Catch::Contains("end_of_word_suffix '</w>'"));
}

TEST_CASE("Component errors name the JSON path", "[cpu][tokenizer]") {
  nlohmann::json bad_regex = ValidConfig();
  bad_regex["pre_tokenizer"] = {
      {"type", "Split"}, {"pattern", {{"Regex", "(a"}}}, {"behavior", "Isolated"}};
  CHECK_THAT(LoadError(bad_regex).message(),
             Catch::StartsWith("bad.json: pre_tokenizer.pattern: invalid regex '(a'"));

  nlohmann::json no_type = ValidConfig();
  no_type["normalizer"] = {{"lowercase", true}};
  CHECK(LoadError(no_type).message() == "bad.json: normalizer.type: missing required field");

  nlohmann::json bad_replacement = ValidConfig();
  bad_replacement["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "ab"}};
  CHECK(LoadError(bad_replacement).message() ==
        "bad.json: pre_tokenizer.replacement: expected exactly one character, got 'ab'");

  nlohmann::json bad_added = ValidConfig();
  bad_added["added_tokens"] = {{{"id", 5}}};
  CHECK(LoadError(bad_added).message() ==
        "bad.json: added_tokens[0].content: missing required field");

  nlohmann::json version = ValidConfig();
  version["version"] = "2.0";
  CHECK(LoadError(version).message() == "bad.json: version: unknown tokenizer.json version '2.0'");
}

TEST_CASE("FromFile reports missing files and loads real ones", "[cpu][tokenizer]") {
  const auto missing = Tokenizer::FromFile("/nonexistent/tokenizer.json");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == StatusCode::kNotFound);
  CHECK_THAT(missing.status().message(), Catch::Contains("/nonexistent/tokenizer.json"));

  const std::string path = MakeScratchDir("tokenizer_loading") + "/tokenizer.json";
  std::ofstream(path) << ValidConfig().dump();
  const auto loaded = Tokenizer::FromFile(path);
  REQUIRE(loaded.ok());
  CHECK(EncodeOk(**loaded, "abba") == std::vector<int32_t>{2, 1, 0});
}

TEST_CASE("Encode refuses ill-formed UTF-8", "[cpu][tokenizer]") {
  const auto tokenizer = LoadTokenizer(ValidConfig());
  for (const std::string bad : {"a\xFF", "\xC3", "ab\xED\xA0\x80", "\xC0\xAF"}) {
    const StatusOr<std::vector<int32_t>> ids = tokenizer->Encode(bad, true);
    REQUIRE_FALSE(ids.ok());
    CHECK(ids.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(ids.status().message(), Catch::Contains("not valid UTF-8"));
  }
}

}  // namespace
}  // namespace specd::testing
