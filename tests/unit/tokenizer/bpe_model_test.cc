// BPE model behaviour through Tokenizer::Encode with no normalizer / pre-tokenizer, so that the
// whole text is one piece: merge order, ties, ignore_merges, byte fallback, unk handling.
#include <catch2/catch.hpp>

#include "tests/unit/tokenizer/tokenizer_test_util.h"

namespace specd::testing {
namespace {

using Ids = std::vector<int32_t>;

TEST_CASE("BPE applies the lowest-rank merge first", "[cpu][tokenizer]") {
  const std::vector<std::string> vocab = {"a", "b", "c", "ab", "bc"};
  // ids:                                  0    1    2    3     4
  const auto ab_first = LoadTokenizer(TokenizerJson(BpeModelJson(vocab, {"a b", "b c"})));
  CHECK(EncodeOk(*ab_first, "abc") == Ids{3, 2});
  const auto bc_first = LoadTokenizer(TokenizerJson(BpeModelJson(vocab, {"b c", "a b"})));
  CHECK(EncodeOk(*bc_first, "abc") == Ids{0, 4});
}

TEST_CASE("BPE merges new pairs formed by earlier merges", "[cpu][tokenizer]") {
  const auto tokenizer =
      LoadTokenizer(TokenizerJson(BpeModelJson({"a", "b", "c", "bc", "abc"}, {"b c", "a bc"})));
  CHECK(EncodeOk(*tokenizer, "abc") == Ids{4});
  CHECK(EncodeOk(*tokenizer, "abcabc") == Ids{4, 4});
  CHECK(EncodeOk(*tokenizer, "cab") == Ids{2, 0, 1});
}

TEST_CASE("BPE breaks rank ties leftmost first", "[cpu][tokenizer]") {
  const auto tokenizer = LoadTokenizer(TokenizerJson(BpeModelJson({"a", "aa"}, {"a a"})));
  CHECK(EncodeOk(*tokenizer, "aaa") == Ids{1, 0});
  CHECK(EncodeOk(*tokenizer, "aaaa") == Ids{1, 1});
  CHECK(EncodeOk(*tokenizer, "aaaaa") == Ids{1, 1, 0});
}

TEST_CASE("BPE gives a repeated merge its last rank", "[cpu][tokenizer]") {
  const auto tokenizer = LoadTokenizer(
      TokenizerJson(BpeModelJson({"a", "b", "c", "ab", "bc"}, {"a b", "b c", "a b"})));
  CHECK(EncodeOk(*tokenizer, "abc") == Ids{0, 4});
}

TEST_CASE("BPE reads merges given as pairs", "[cpu][tokenizer]") {
  const nlohmann::json merges = nlohmann::json::array(
      {nlohmann::json::array({"a", "b"}), nlohmann::json::array({"ab", "c"})});
  const auto tokenizer =
      LoadTokenizer(TokenizerJson(BpeModelJson({"a", "b", "c", "ab", "abc"}, merges)));
  CHECK(EncodeOk(*tokenizer, "abcab") == Ids{4, 3});
}

TEST_CASE("BPE ignore_merges emits a piece found whole in the vocabulary", "[cpu][tokenizer]") {
  // "abc" is in the vocabulary but no merge sequence builds it.
  nlohmann::json model = BpeModelJson({"a", "b", "c", "ab", "abc"}, {"a b"});
  CHECK(EncodeOk(*LoadTokenizer(TokenizerJson(model)), "abc") == Ids{3, 2});
  model["ignore_merges"] = true;
  const auto tokenizer = LoadTokenizer(TokenizerJson(model));
  CHECK(EncodeOk(*tokenizer, "abc") == Ids{4});
  CHECK(EncodeOk(*tokenizer, "abcc") == Ids{3, 2, 2});
}

TEST_CASE("BPE byte fallback spells unknown characters as <0xAB> tokens", "[cpu][tokenizer]") {
  nlohmann::json model = BpeModelJson({"<unk>", "a", "<0xC3>", "<0xA9>", "<0x0A>"});
  model["unk_token"] = "<unk>";
  model["byte_fallback"] = true;
  const auto tokenizer = LoadTokenizer(TokenizerJson(model));
  CHECK(EncodeOk(*tokenizer, "a\xC3\xA9\n") == Ids{1, 2, 3, 4});  // "aé\n"
  // U+00E8 is C3 A8: <0xA8> is missing, so the whole character is unknown.
  CHECK(EncodeOk(*tokenizer,
                 "\xC3\xA8"
                 "a") == Ids{0, 1});
  // Like tokenizers, a pending unk is only added after the byte tokens that follow it.
  CHECK(EncodeOk(*tokenizer, "x\xC3\xA9") == Ids{2, 3, 0});
}

TEST_CASE("BPE fuse_unk merges runs of unknown characters", "[cpu][tokenizer]") {
  nlohmann::json model = BpeModelJson({"<unk>", "a"});
  model["unk_token"] = "<unk>";
  CHECK(EncodeOk(*LoadTokenizer(TokenizerJson(model)), "xya") == Ids{0, 0, 1});
  model["fuse_unk"] = true;
  const auto tokenizer = LoadTokenizer(TokenizerJson(model));
  CHECK(EncodeOk(*tokenizer, "xya") == Ids{0, 1});
  CHECK(EncodeOk(*tokenizer, "xayz") == Ids{0, 1, 0});
}

TEST_CASE("BPE without an unk token drops unknown characters", "[cpu][tokenizer]") {
  const auto tokenizer = LoadTokenizer(TokenizerJson(BpeModelJson({"a", "b"})));
  CHECK(EncodeOk(*tokenizer, "axb") == Ids{0, 1});
  CHECK(EncodeOk(*tokenizer, "xyz").empty());
}

TEST_CASE("BPE fails to encode an unknown character when unk_token is not in the vocabulary",
          "[cpu][tokenizer]") {
  nlohmann::json model = BpeModelJson({"a"});
  model["unk_token"] = "<unk>";
  const auto tokenizer = LoadTokenizer(TokenizerJson(model));
  CHECK(EncodeOk(*tokenizer, "aa") == Ids{0, 0});
  const StatusOr<std::vector<int32_t>> ids = tokenizer->Encode("ax", false);
  REQUIRE_FALSE(ids.ok());
  CHECK(ids.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(ids.status().message(), Catch::Contains("unk_token '<unk>'"));
}

TEST_CASE("BPE vocabulary lookups", "[cpu][tokenizer]") {
  const auto tokenizer = LoadTokenizer(TokenizerJson(BpeModelJson({"a", "b", "ab"}, {"a b"})));
  CHECK(tokenizer->vocab_size() == 3);
  CHECK(tokenizer->TokenToId("ab") == 2);
  CHECK_FALSE(tokenizer->TokenToId("ba").has_value());
  CHECK(tokenizer->IdToToken(1) == "b");
  CHECK_FALSE(tokenizer->IdToToken(3).has_value());
  CHECK_FALSE(tokenizer->IdToToken(-1).has_value());
  CHECK(EncodeOk(*tokenizer, "").empty());
}

}  // namespace
}  // namespace specd::testing
