// Added tokens: extraction before normalization, longest match, lstrip / rstrip / single_word,
// normalized tokens, and the per-segment rules of Metaspace and ByteLevel.
#include <catch2/catch.hpp>

#include "tests/unit/tokenizer/tokenizer_test_util.h"

namespace specd::testing {
namespace {

using Ids = std::vector<int32_t>;

// Characters a..e and space are ids 0..5.
nlohmann::json CharTokenizer() {
  return TokenizerJson(BpeModelJson({"a", "b", "c", "d", "e", " "}));
}

TEST_CASE("Added tokens are cut out of the text", "[cpu][tokenizer]") {
  nlohmann::json config = CharTokenizer();
  config["added_tokens"] = {AddedTokenJson(10, "<s>", true), AddedTokenJson(11, "ab", false),
                            AddedTokenJson(12, "abc", false)};
  const auto tokenizer = LoadTokenizer(config);
  CHECK(EncodeOk(*tokenizer, "a<s>b") == Ids{0, 10, 1});
  CHECK(EncodeOk(*tokenizer, "<s><s>") == Ids{10, 10});
  // Leftmost-longest: "abc" beats "ab" at the same start.
  CHECK(EncodeOk(*tokenizer, "dabcd") == Ids{3, 12, 3});
  CHECK(EncodeOk(*tokenizer, "dabd") == Ids{3, 11, 3});
  CHECK(EncodeOk(*tokenizer, "<s").empty());  // neither character is in the vocabulary
}

TEST_CASE("Added token lookups and special flags", "[cpu][tokenizer]") {
  nlohmann::json config = CharTokenizer();
  config["added_tokens"] = {AddedTokenJson(10, "<s>", true), AddedTokenJson(11, "ab", false)};
  const auto tokenizer = LoadTokenizer(config);
  CHECK(tokenizer->vocab_size() == 12);
  CHECK(tokenizer->TokenToId("<s>") == 10);
  CHECK(tokenizer->IdToToken(11) == "ab");
  CHECK(tokenizer->IsSpecialToken(10));
  CHECK_FALSE(tokenizer->IsSpecialToken(11));
  CHECK_FALSE(tokenizer->IsSpecialToken(0));
  CHECK_FALSE(tokenizer->IsSpecialToken(99));
}

TEST_CASE("An added token already in the vocabulary keeps the vocabulary id", "[cpu][tokenizer]") {
  nlohmann::json config = CharTokenizer();
  config["added_tokens"] = {AddedTokenJson(0, "a", true)};
  const auto tokenizer = LoadTokenizer(config);
  CHECK(EncodeOk(*tokenizer, "bab") == Ids{1, 0, 1});
  CHECK(tokenizer->IsSpecialToken(0));
}

TEST_CASE("lstrip and rstrip swallow the whitespace around a match", "[cpu][tokenizer]") {
  nlohmann::json config = CharTokenizer();
  config["added_tokens"] = {AddedTokenJson(10, "[M]", true, /*lstrip=*/true, /*rstrip=*/true),
                            AddedTokenJson(11, "[L]", true, /*lstrip=*/true, /*rstrip=*/false),
                            AddedTokenJson(12, "[P]", true)};
  const auto tokenizer = LoadTokenizer(config);
  CHECK(EncodeOk(*tokenizer, "a  [M]  b") == Ids{0, 10, 1});
  CHECK(EncodeOk(*tokenizer, "a \t[M]\n b") == Ids{0, 10, 1});
  CHECK(EncodeOk(*tokenizer, "a  [L]  b") == Ids{0, 11, 5, 5, 1});
  CHECK(EncodeOk(*tokenizer, "a  [P]  b") == Ids{0, 5, 5, 12, 5, 5, 1});
  // The spaces an rstrip took are not taken again by the next lstrip.
  CHECK(EncodeOk(*tokenizer, "[M] [L]") == Ids{10, 11});
}

TEST_CASE("single_word rejects matches inside words", "[cpu][tokenizer]") {
  nlohmann::json config = CharTokenizer();
  config["added_tokens"] = {AddedTokenJson(10, "ab", false, false, false, /*single_word=*/true)};
  const auto tokenizer = LoadTokenizer(config);
  CHECK(EncodeOk(*tokenizer, "ab cab") == Ids{10, 5, 2, 0, 1});
  CHECK(EncodeOk(*tokenizer, "abc ab") == Ids{0, 1, 2, 5, 10});
  CHECK(EncodeOk(*tokenizer, "ab") == Ids{10});
}

TEST_CASE("Normalized added tokens match the normalized text", "[cpu][tokenizer]") {
  nlohmann::json config = CharTokenizer();
  config["normalizer"] = {{"type", "Lowercase"}};
  config["added_tokens"] = {
      AddedTokenJson(10, "BE", false, false, false, false, /*normalized=*/true),
      AddedTokenJson(11, "CD", false, false, false, false, /*normalized=*/false)};
  const auto tokenizer = LoadTokenizer(config);
  // "BE" is matched as "be" after lowercasing; "CD" only as written, before it.
  CHECK(EncodeOk(*tokenizer, "aBe be") == Ids{0, 10, 5, 10});
  CHECK(EncodeOk(*tokenizer, "CD cd") == Ids{11, 5, 2, 3});
  // Like tokenizers, a normalized token reads back in its normalized spelling.
  CHECK(tokenizer->TokenToId("BE") == 10);
  CHECK(tokenizer->IdToToken(10) == "be");
  CHECK(DecodeOk(*tokenizer, {10, 11}) == "be CD");
}

TEST_CASE("skip_special_tokens matches the decoded spelling, as in tokenizers",
          "[cpu][tokenizer]") {
  nlohmann::json config = CharTokenizer();
  config["normalizer"] = {{"type", "Lowercase"}};
  config["added_tokens"] = {
      AddedTokenJson(10, "<S>", true, false, false, false, /*normalized=*/true),
      AddedTokenJson(11, "<e>", true, false, false, false, /*normalized=*/true)};
  const auto tokenizer = LoadTokenizer(config);
  CHECK(EncodeOk(*tokenizer, "<s>a<E>") == Ids{10, 0, 11});
  // "<S>" decodes as "<s>", which is not the content of a special token: it is kept.
  CHECK(DecodeOk(*tokenizer, {10, 0, 11}, /*skip_special_tokens=*/true) == "<s> a");
  CHECK_FALSE(tokenizer->IsSpecialToken(10));
  CHECK(tokenizer->IsSpecialToken(11));
}

TEST_CASE("Metaspace first only prefixes the segment at the start of the text",
          "[cpu][tokenizer]") {
  nlohmann::json config =
      TokenizerJson(BpeModelJson({"\u2581", "a", "b", "\u2581a"}, {"\u2581 a"}));
  config["pre_tokenizer"] = {{"type", "Metaspace"},
                             {"replacement", "\u2581"},
                             {"prepend_scheme", "first"},
                             {"split", false}};
  config["added_tokens"] = {AddedTokenJson(10, "<s>", true)};
  const auto tokenizer = LoadTokenizer(config);
  CHECK(EncodeOk(*tokenizer, "ab") == Ids{3, 2});
  CHECK(EncodeOk(*tokenizer, "<s>ab") == Ids{10, 1, 2});
  CHECK(EncodeOk(*tokenizer, "b<s>a") == Ids{0, 2, 10, 1});
  CHECK(EncodeOk(*tokenizer, "<s> a") == Ids{10, 3});
}

TEST_CASE("ByteLevel add_prefix_space applies to every segment", "[cpu][tokenizer]") {
  nlohmann::json config = ByteLevelTokenizerJson({"\u0120 a"});  // "Ġa" is id 256
  config["pre_tokenizer"]["add_prefix_space"] = true;
  const auto tokenizer = LoadTokenizer(config);
  const int32_t eos = 257;
  CHECK(EncodeOk(*tokenizer, "a") == Ids{256});
  CHECK(EncodeOk(*tokenizer, "a<|endoftext|>a") == Ids{256, eos, 256});
  CHECK(EncodeOk(*tokenizer, " a") == Ids{256});
}

TEST_CASE("Legacy Prepend normalizer prefixes every segment", "[cpu][tokenizer]") {
  nlohmann::json config = TokenizerJson(BpeModelJson({"\u2581", "a", "\u2581a"}, {"\u2581 a"}));
  config["normalizer"] = {
      {"type", "Sequence"},
      {"normalizers",
       {{{"type", "Prepend"}, {"prepend", "\u2581"}},
        {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\u2581"}}}}};
  config["added_tokens"] = {AddedTokenJson(10, "<s>", true)};
  const auto tokenizer = LoadTokenizer(config);
  CHECK(EncodeOk(*tokenizer, "a a") == Ids{2, 2});
  CHECK(EncodeOk(*tokenizer, "<s>a") == Ids{10, 2});
  CHECK(EncodeOk(*tokenizer, "a<s>") == Ids{2, 10});
}

}  // namespace
}  // namespace specd::testing
