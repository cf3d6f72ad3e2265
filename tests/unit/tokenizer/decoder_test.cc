// Decoders, through Tokenizer::Decode on hand-made vocabularies (ids are vocabulary order).
#include <catch2/catch.hpp>

#include "tests/unit/tokenizer/tokenizer_test_util.h"

namespace specd::testing {
namespace {

// A tokenizer whose vocabulary is `tokens` and whose decoder is `decoder`.
std::unique_ptr<Tokenizer> WithDecoder(const std::vector<std::string>& tokens,
                                       const nlohmann::json& decoder) {
  nlohmann::json config = TokenizerJson(BpeModelJson(tokens));
  config["decoder"] = decoder;
  return LoadTokenizer(config);
}

const nlohmann::json kByteFallback = {{"type", "ByteFallback"}};
const nlohmann::json kFuse = {{"type", "Fuse"}};

nlohmann::json MetaspaceDecoder(const std::string& prepend_scheme) {
  return {{"type", "Metaspace"},
          {"replacement", "\u2581"},
          {"prepend_scheme", prepend_scheme},
          {"split", true}};
}

nlohmann::json StripDecoder(int start, int stop) {
  return {{"type", "Strip"}, {"content", " "}, {"start", start}, {"stop", stop}};
}

nlohmann::json Sequence(const nlohmann::json& decoders) {
  return {{"type", "Sequence"}, {"decoders", decoders}};
}

TEST_CASE("No decoder joins tokens with spaces", "[cpu][tokenizer]") {
  const auto tokenizer = LoadTokenizer(TokenizerJson(BpeModelJson({"ab", "c"})));
  CHECK(DecodeOk(*tokenizer, {0, 1, 0}) == "ab c ab");
  CHECK(DecodeOk(*tokenizer, {}) == "");
}

TEST_CASE("ByteLevel decoder maps characters back to bytes", "[cpu][tokenizer]") {
  const auto tokenizer =
      WithDecoder({"Hello", "\u0120world", "\u00C3", "\u00A9", "\u20AC", "\u0120\u20AC", "\u00F0"},
                  {{"type", "ByteLevel"}});
  CHECK(DecodeOk(*tokenizer, {0, 1}) == "Hello world");
  CHECK(DecodeOk(*tokenizer, {2, 3}) == "\xC3\xA9");  // é from its two bytes
  // A character outside the table makes the token decode as its own UTF-8.
  CHECK(DecodeOk(*tokenizer, {4}) == "\u20AC");
  CHECK(DecodeOk(*tokenizer, {5}) == "\u0120\u20AC");
  // Ill-formed bytes become U+FFFD (one per maximal subpart).
  CHECK(DecodeOk(*tokenizer, {2}) == "\uFFFD");
  CHECK(DecodeOk(*tokenizer, {6, 2, 3}) == "\uFFFD\xC3\xA9");
}

TEST_CASE("Metaspace decoder", "[cpu][tokenizer]") {
  const std::vector<std::string> tokens = {"\u2581Hey", "\u2581friend!", "\u2581\u2581a"};
  CHECK(DecodeOk(*WithDecoder(tokens, MetaspaceDecoder("always")), {0, 1}) == "Hey friend!");
  CHECK(DecodeOk(*WithDecoder(tokens, MetaspaceDecoder("first")), {1, 0}) == "friend! Hey");
  CHECK(DecodeOk(*WithDecoder(tokens, MetaspaceDecoder("never")), {0, 1}) == " Hey friend!");
  // Every replacement character of the first token goes (tokenizers' rule).
  CHECK(DecodeOk(*WithDecoder(tokens, MetaspaceDecoder("always")), {2, 2}) == "a  a");
}

TEST_CASE("ByteFallback decoder", "[cpu][tokenizer]") {
  const auto tokenizer = WithDecoder({"<0xE5>", "<0x8f>", "<0xab>", "a", "<0x61>"}, kByteFallback);
  CHECK(DecodeOk(*tokenizer, {0, 1, 2}) == "\xE5\x8F\xAB");  // 叫
  CHECK(DecodeOk(*tokenizer, {0, 1, 2, 3}) ==
        "\xE5\x8F\xAB"
        "a");
  CHECK(DecodeOk(*tokenizer, {4}) == "a");
  // An ill-formed group gives one U+FFFD per byte.
  CHECK(DecodeOk(*tokenizer, {0, 1, 3}) ==
        "\uFFFD\uFFFD"
        "a");
  CHECK(DecodeOk(*tokenizer, {0}) == "\uFFFD");
}

TEST_CASE("Replace, Fuse and Strip decoders (Llama-2 legacy chain)", "[cpu][tokenizer]") {
  const nlohmann::json chain =
      Sequence({{{"type", "Replace"}, {"pattern", {{"String", "\u2581"}}}, {"content", " "}},
                kByteFallback,
                kFuse,
                StripDecoder(1, 0)});
  const auto tokenizer = WithDecoder(
      {"\u2581Hello", "<0xE4>", "<0xBD>", "<0xA0>", "\u2581world", "\u2581", "<s>"}, chain);
  CHECK(DecodeOk(*tokenizer, {0, 1, 2, 3, 4}) == "Hello\xE4\xBD\xA0 world");
  CHECK(DecodeOk(*tokenizer, {5, 5, 0}) == "  Hello");
  CHECK(DecodeOk(*tokenizer, {6, 0}) == "<s> Hello");
}

TEST_CASE("Strip decoder without Fuse strips every token", "[cpu][tokenizer]") {
  const auto tokenizer = WithDecoder({" a ", " b", "  "}, StripDecoder(1, 1));
  CHECK(DecodeOk(*tokenizer, {0, 1}) == "ab");
  CHECK(DecodeOk(*tokenizer, {2}) == "");
  const auto two = WithDecoder({"   a   "}, StripDecoder(2, 5));
  CHECK(DecodeOk(*two, {0}) == " a");
}

TEST_CASE("Replace decoder with a Regex pattern", "[cpu][tokenizer]") {
  const auto tokenizer = WithDecoder(
      {"a__b", "_"}, {{"type", "Replace"}, {"pattern", {{"Regex", "_+"}}}, {"content", "-"}});
  CHECK(DecodeOk(*tokenizer, {0, 1}) == "a-b-");
}

TEST_CASE("Decode skips special tokens on request", "[cpu][tokenizer]") {
  nlohmann::json config = TokenizerJson(BpeModelJson({"a", "b"}));
  config["added_tokens"] = {AddedTokenJson(2, "<s>", true), AddedTokenJson(3, "<x>", false)};
  config["decoder"] = kFuse;
  const auto tokenizer = LoadTokenizer(config);
  CHECK(DecodeOk(*tokenizer, {2, 0, 3, 1}) == "<s>a<x>b");
  CHECK(DecodeOk(*tokenizer, {2, 0, 3, 1}, /*skip_special_tokens=*/true) == "a<x>b");
}

TEST_CASE("Decode refuses ids outside the vocabulary", "[cpu][tokenizer]") {
  const auto tokenizer = LoadTokenizer(TokenizerJson(BpeModelJson({"a", "b"})));
  for (const int32_t bad : {2, 999, -1}) {
    const std::vector<int32_t> ids = {0, bad};
    const StatusOr<std::string> text = tokenizer->Decode(ids, false);
    REQUIRE_FALSE(text.ok());
    CHECK(text.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(text.status().message(), Catch::Contains("token id " + std::to_string(bad)));
  }
}

TEST_CASE("Unsupported decoders are refused", "[cpu][tokenizer]") {
  nlohmann::json config = TokenizerJson(BpeModelJson({"a"}));
  config["decoder"] = Sequence({kFuse, {{"type", "WordPiece"}, {"prefix", "##"}}});
  const auto result = Tokenizer::FromJsonString(config.dump(), "dec.json");
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().message() ==
        "dec.json: decoder.decoders[1]: unsupported decoder type 'WordPiece'");
}

}  // namespace
}  // namespace specd::testing
