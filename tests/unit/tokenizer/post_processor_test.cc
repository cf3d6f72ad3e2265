// Post-processors: TemplateProcessing, ByteLevel, Sequence.
#include <catch2/catch.hpp>

#include "tests/unit/tokenizer/tokenizer_test_util.h"

namespace specd::testing {
namespace {

using Ids = std::vector<int32_t>;

nlohmann::json SpecialPiece(const std::string& id) {
  return {{"SpecialToken", {{"id", id}, {"type_id", 0}}}};
}
const nlohmann::json kSequenceA = {{"Sequence", {{"id", "A"}, {"type_id", 0}}}};

// "<s> $A </s>" over a vocabulary a=0, b=1, <s>=2, </s>=3.
nlohmann::json TemplateConfig() {
  nlohmann::json config = TokenizerJson(BpeModelJson({"a", "b"}));
  config["added_tokens"] = {AddedTokenJson(2, "<s>", true), AddedTokenJson(3, "</s>", true)};
  config["post_processor"] = {{"type", "TemplateProcessing"},
                              {"single", {SpecialPiece("<s>"), kSequenceA, SpecialPiece("</s>")}},
                              {"pair", nlohmann::json::array()},
                              {"special_tokens",
                               {{"<s>", {{"id", "<s>"}, {"ids", {2}}, {"tokens", {"<s>"}}}},
                                {"</s>", {{"id", "</s>"}, {"ids", {3}}, {"tokens", {"</s>"}}}}}}};
  return config;
}

TEST_CASE("TemplateProcessing adds special tokens only when asked", "[cpu][tokenizer]") {
  const auto tokenizer = LoadTokenizer(TemplateConfig());
  CHECK(EncodeOk(*tokenizer, "ab", true) == Ids{2, 0, 1, 3});
  CHECK(EncodeOk(*tokenizer, "ab", false) == Ids{0, 1});
  CHECK(EncodeOk(*tokenizer, "", true) == Ids{2, 3});
  CHECK(EncodeOk(*tokenizer, "", false).empty());
  CHECK(EncodeOk(*tokenizer, "<s>a", true) == Ids{2, 2, 0, 3});
}

TEST_CASE("TemplateProcessing special tokens may hold several ids", "[cpu][tokenizer]") {
  nlohmann::json config = TemplateConfig();
  config["post_processor"]["special_tokens"]["<s>"]["ids"] = {2, 1};
  config["post_processor"]["special_tokens"]["<s>"]["tokens"] = {"<s>", "b"};
  CHECK(EncodeOk(*LoadTokenizer(config), "a", true) == Ids{2, 1, 0, 3});
}

TEST_CASE("Post-processor Sequence and ByteLevel", "[cpu][tokenizer]") {
  nlohmann::json config = TemplateConfig();
  config["post_processor"] = {{"type", "Sequence"},
                              {"processors",
                               {{{"type", "ByteLevel"},
                                 {"add_prefix_space", true},
                                 {"trim_offsets", false},
                                 {"use_regex", true}},
                                config["post_processor"]}}};
  const auto tokenizer = LoadTokenizer(config);
  CHECK(EncodeOk(*tokenizer, "ba", true) == Ids{2, 1, 0, 3});
  CHECK(EncodeOk(*tokenizer, "ba", false) == Ids{1, 0});
}

TEST_CASE("TemplateProcessing configuration errors", "[cpu][tokenizer]") {
  nlohmann::json missing = TemplateConfig();
  missing["post_processor"]["special_tokens"].erase("</s>");
  CHECK(Tokenizer::FromJsonString(missing.dump(), "t.json").status().message() ==
        "t.json: post_processor.single[2]: special token '</s>' is missing from special_tokens");

  nlohmann::json uses_b = TemplateConfig();
  uses_b["post_processor"]["single"][1]["Sequence"]["id"] = "B";
  CHECK_THAT(Tokenizer::FromJsonString(uses_b.dump(), "t.json").status().message(),
             Catch::Contains("can only use sequence A"));

  nlohmann::json roberta = TemplateConfig();
  roberta["post_processor"] = {{"type", "RobertaProcessing"}};
  CHECK(Tokenizer::FromJsonString(roberta.dump(), "t.json").status().message() ==
        "t.json: post_processor: unsupported post-processor type 'RobertaProcessing'");
}

}  // namespace
}  // namespace specd::testing
