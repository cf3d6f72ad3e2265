// Pre-tokenizers on their own: the pieces each one cuts a text into.
#include "engine/tokenizer/pre_tokenizer.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/unit/tokenizer/tokenizer_test_util.h"

namespace specd {
namespace {

using Pieces = std::vector<std::string>;

// The pieces `config` makes of `text` (a whole input starting at offset 0).
Pieces PreTokenize(const nlohmann::json& config, const std::string& text) {
  StatusOr<std::unique_ptr<PreTokenizer>> pre_tokenizer =
      PreTokenizer::FromJson(JsonView(config, "pre_tokenizer"));
  INFO(pre_tokenizer.status().ToString());
  REQUIRE(pre_tokenizer.ok());
  PreTokenizedText pieces({TextSplit{NormalizedText(text, 0), std::nullopt}});
  const Status status = (*pre_tokenizer)->PreTokenize(pieces);
  INFO(status.ToString());
  REQUIRE(status.ok());
  Pieces result;
  for (const TextSplit& split : pieces.splits()) result.push_back(split.text.text());
  return result;
}

nlohmann::json ByteLevel(bool add_prefix_space, bool use_regex) {
  return {{"type", "ByteLevel"},
          {"add_prefix_space", add_prefix_space},
          {"trim_offsets", true},
          {"use_regex", use_regex}};
}

nlohmann::json SplitOn(const nlohmann::json& pattern, const std::string& behavior,
                       bool invert = false) {
  return {{"type", "Split"}, {"pattern", pattern}, {"behavior", behavior}, {"invert", invert}};
}

nlohmann::json Metaspace(const std::string& prepend_scheme, bool split) {
  return {{"type", "Metaspace"},
          {"replacement", "\u2581"},
          {"prepend_scheme", prepend_scheme},
          {"split", split}};
}

using testing::kLlama3Pattern;

TEST_CASE("ByteLevel splits with the GPT-2 regex and maps bytes", "[cpu][tokenizer]") {
  const nlohmann::json config = ByteLevel(false, true);
  CHECK(PreTokenize(config, "Hello my friend, how is your day going?") ==
        Pieces{"Hello", "\u0120my", "\u0120friend", ",", "\u0120how", "\u0120is", "\u0120your",
               "\u0120day", "\u0120going", "?"});
  CHECK(PreTokenize(config, "Hello there       dear") ==
        Pieces{"Hello", "\u0120there", "\u0120\u0120\u0120\u0120\u0120\u0120", "\u0120dear"});
  CHECK(PreTokenize(config, "Hello there\nHello there") ==
        Pieces{"Hello", "\u0120there", "\u010A", "Hello", "\u0120there"});
  // The GPT-2 contractions are case-sensitive.
  CHECK(PreTokenize(config, "don't I'LL") == Pieces{"don", "'t", "\u0120I", "'", "LL"});
  CHECK(PreTokenize(config, "x 12345") == Pieces{"x", "\u012012345"});
  // "é" is C3 A9; "😀" is F0 9F 98 80.
  CHECK(PreTokenize(config, "\xC3\xA9 \xF0\x9F\x98\x80") ==
        Pieces{"\u00C3\u00A9", "\u0120\u00F0\u0141\u013A\u0122"});
}

TEST_CASE("ByteLevel add_prefix_space and use_regex", "[cpu][tokenizer]") {
  CHECK(PreTokenize(ByteLevel(true, true), "Hello my") == Pieces{"\u0120Hello", "\u0120my"});
  CHECK(PreTokenize(ByteLevel(true, true), " Hello") == Pieces{"\u0120Hello"});
  CHECK(PreTokenize(ByteLevel(true, false), "Hello my friend") ==
        Pieces{"\u0120Hello\u0120my\u0120friend"});
  CHECK(PreTokenize(ByteLevel(false, false), "a\tb") == Pieces{"a\u0109b"});
}

TEST_CASE("Split behaviours", "[cpu][tokenizer]") {
  const nlohmann::json dash = {{"String", "-"}};
  const std::string text = "the-final--countdown";
  CHECK(PreTokenize(SplitOn(dash, "Removed"), text) == Pieces{"the", "final", "countdown"});
  CHECK(PreTokenize(SplitOn(dash, "Isolated"), text) ==
        Pieces{"the", "-", "final", "-", "-", "countdown"});
  CHECK(PreTokenize(SplitOn(dash, "MergedWithPrevious"), text) ==
        Pieces{"the-", "final-", "-", "countdown"});
  CHECK(PreTokenize(SplitOn(dash, "MergedWithNext"), text) ==
        Pieces{"the", "-final", "-", "-countdown"});
  CHECK(PreTokenize(SplitOn(dash, "Contiguous"), text) ==
        Pieces{"the", "-", "final", "--", "countdown"});
}

TEST_CASE("Split String patterns are literal, Regex patterns are regexes", "[cpu][tokenizer]") {
  CHECK(PreTokenize(SplitOn({{"String", "."}}, "Removed"), "a.b.c") == Pieces{"a", "b", "c"});
  CHECK(PreTokenize(SplitOn({{"String", "."}}, "Removed"), "abc") == Pieces{"abc"});
  CHECK(PreTokenize(SplitOn({{"Regex", "\\d+"}}, "Isolated"), "ab12cd3") ==
        Pieces{"ab", "12", "cd", "3"});
}

TEST_CASE("Split invert swaps matches and gaps", "[cpu][tokenizer]") {
  CHECK(PreTokenize(SplitOn({{"Regex", "\\d+"}}, "Removed", true), "a1b22") == Pieces{"1", "22"});
  CHECK(PreTokenize(SplitOn({{"Regex", "\\d+"}}, "Removed", false), "a1b22") == Pieces{"a", "b"});
}

TEST_CASE("Split with the Llama-3 pattern", "[cpu][tokenizer]") {
  const nlohmann::json config = SplitOn({{"Regex", kLlama3Pattern}}, "Isolated");
  CHECK(PreTokenize(config, "don't I'LL") == Pieces{"don", "'t", " I", "'LL"});
  CHECK(PreTokenize(config, "1234567 x") == Pieces{"123", "456", "7", " x"});
  CHECK(PreTokenize(config, "a  \n\n b") == Pieces{"a", "  \n\n", " b"});
  CHECK(PreTokenize(config, "x   y") == Pieces{"x", "  ", " y"});
  CHECK(PreTokenize(config, "end.\n") == Pieces{"end", ".\n"});
}

TEST_CASE("Regex \\s keeps Oniguruma's meaning (U+180E is not a space)", "[cpu][tokenizer]") {
  const nlohmann::json config = SplitOn({{"Regex", "\\s+"}}, "Removed");
  CHECK(PreTokenize(config,
                    "a\xE1\xA0\x8E"
                    "b c") == Pieces{"a\xE1\xA0\x8E"
                                     "b",
                                     "c"});
  CHECK(PreTokenize(config,
                    "a\xE3\x80\x80"
                    "b") == Pieces{"a", "b"});  // U+3000
}

TEST_CASE("Metaspace replaces spaces and prepends the replacement", "[cpu][tokenizer]") {
  CHECK(PreTokenize(Metaspace("always", true), "Hey friend!") ==
        Pieces{"\u2581Hey", "\u2581friend!"});
  CHECK(PreTokenize(Metaspace("always", true), "Hey   friend!") ==
        Pieces{"\u2581Hey", "\u2581", "\u2581", "\u2581friend!"});
  CHECK(PreTokenize(Metaspace("always", false), "Hey friend!") == Pieces{"\u2581Hey\u2581friend!"});
  CHECK(PreTokenize(Metaspace("never", false), "Hey friend") == Pieces{"Hey\u2581friend"});
  CHECK(PreTokenize(Metaspace("first", false), " Hey") == Pieces{"\u2581Hey"});
}

TEST_CASE("Metaspace prepend_scheme first only prefixes a piece at offset 0", "[cpu][tokenizer]") {
  const nlohmann::json config = {
      {"type", "Sequence"},
      {"pretokenizers",
       {{{"type", "Digits"}, {"individual_digits", false}}, Metaspace("first", false)}}};
  CHECK(PreTokenize(config, "ab12") == Pieces{"\u2581ab", "12"});
  CHECK(PreTokenize(config, "12ab") == Pieces{"\u258112", "ab"});
  const nlohmann::json always = {
      {"type", "Sequence"},
      {"pretokenizers",
       {{{"type", "Digits"}, {"individual_digits", false}}, Metaspace("always", false)}}};
  CHECK(PreTokenize(always, "ab12") == Pieces{"\u2581ab", "\u258112"});
}

TEST_CASE("Metaspace reads the legacy add_prefix_space", "[cpu][tokenizer]") {
  const nlohmann::json legacy = {
      {"type", "Metaspace"}, {"replacement", "\u2581"}, {"add_prefix_space", false}};
  CHECK(PreTokenize(legacy, "a b") == Pieces{"a", "\u2581b"});
}

TEST_CASE("Digits", "[cpu][tokenizer]") {
  const nlohmann::json individual = {{"type", "Digits"}, {"individual_digits", true}};
  const nlohmann::json contiguous = {{"type", "Digits"}, {"individual_digits", false}};
  CHECK(PreTokenize(individual, "a123b") == Pieces{"a", "1", "2", "3", "b"});
  CHECK(PreTokenize(contiguous, "a123b") == Pieces{"a", "123", "b"});
  // Arabic-Indic digits (Nd) and the vulgar fraction one half (No) are numeric too.
  CHECK(PreTokenize(contiguous, "x\xD9\xA1\xD9\xA2\xC2\xBDy") ==
        Pieces{"x", "\xD9\xA1\xD9\xA2\xC2\xBD", "y"});
}

TEST_CASE("Sequence chains pre-tokenizers", "[cpu][tokenizer]") {
  const nlohmann::json config = {
      {"type", "Sequence"},
      {"pretokenizers",
       {SplitOn({{"Regex", kLlama3Pattern}}, "Isolated"), ByteLevel(false, false)}}};
  CHECK(PreTokenize(config, "Hi there!") == Pieces{"Hi", "\u0120there", "!"});
}

TEST_CASE("Unsupported pre-tokenizers are refused", "[cpu][tokenizer]") {
  const nlohmann::json config = {{"type", "Whitespace"}};
  const auto result = PreTokenizer::FromJson(JsonView(config, "pre_tokenizer"));
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().message() == "pre_tokenizer: unsupported pre-tokenizer type 'Whitespace'");
  const nlohmann::json bad_behavior = SplitOn({{"String", " "}}, "Sideways");
  CHECK_THAT(PreTokenizer::FromJson(JsonView(bad_behavior, "p")).status().message(),
             Catch::Contains("unknown split behavior 'Sideways'"));
}

}  // namespace
}  // namespace specd
