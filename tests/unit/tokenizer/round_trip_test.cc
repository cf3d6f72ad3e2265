// Byte-level tokenizers are lossless: Decode(Encode(x)) == x for any text.
#include <catch2/catch.hpp>
#include <thread>

#include "tests/unit/tokenizer/tokenizer_test_util.h"

namespace specd::testing {
namespace {

using namespace std::string_literals;

const std::vector<std::string> kMerges = {"\u0120 t",
                                          "h e",
                                          "i n",
                                          "\u0120 a",
                                          "e r",
                                          "\u0120t he",
                                          "o n",
                                          "\u0120 s",
                                          "r e",
                                          "a t",
                                          "e n",
                                          "\u0120 w",
                                          "o r",
                                          "\u0120 i",
                                          "in g",
                                          "\u0120 \u0120",
                                          "\u0120\u0120 \u0120\u0120",
                                          "\u00E4 \u00BD",
                                          "\u00F0 \u0141"};

const std::vector<std::string> kTexts = {
    "",
    "a",
    " ",
    "The quick brown fox jumps over the lazy dog.",
    "def f(x):\n    return x * 2  # double\n\n\tprint(f(21))\r\n",
    "  leading and trailing spaces   ",
    "tabs\t\tand\nnewlines\n\n\n   \n",
    "emoji \xF0\x9F\x98\x80 family \xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D"
    "\xF0\x9F\x91\xA7 flag \xF0\x9F\x87\xAB\xF0\x9F\x87\xB7",
    "\xE4\xBD\xA0\xE5\xA5\xBD\xEF\xBC\x8C\xE4\xB8\x96\xE7\x95\x8C",  // 你好，世界
    "\xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7 "                      // مرحبا بالعالم
    "\xD8\xA8\xD8\xA7\xD9\x84\xD8\xB9\xD8\xA7\xD9\x84\xD9\x85",
    "caf\xC3\xA9 vs cafe\xCC\x81",  // é two ways
    "looks like bytes: \\xff \\x00 and a real U+FFFD: \xEF\xBF\xBD",
    "special <|endoftext|> inside<|endoftext|>text",
    "nul\0byte and \x01\x7F controls"s,
    "digits 12345678901234567890 3.14159",
    "don't I'LL we've they're",
};

void CheckRoundTrip(const Tokenizer& tokenizer) {
  for (const std::string& text : kTexts) {
    INFO("text: " << text);
    const std::vector<int32_t> ids = EncodeOk(tokenizer, text);
    CHECK(DecodeOk(tokenizer, ids) == text);
  }
}

TEST_CASE("Round trip through a GPT-2 style byte-level tokenizer", "[cpu][tokenizer]") {
  CheckRoundTrip(*LoadTokenizer(ByteLevelTokenizerJson(kMerges)));
}

TEST_CASE("Round trip through a Llama-3 style byte-level tokenizer", "[cpu][tokenizer]") {
  nlohmann::json config = ByteLevelTokenizerJson(kMerges);
  config["model"]["ignore_merges"] = true;
  config["pre_tokenizer"] = {
      {"type", "Sequence"},
      {"pretokenizers",
       {{{"type", "Split"},
         {"pattern", {{"Regex", kLlama3Pattern}}},
         {"behavior", "Isolated"},
         {"invert", false}},
        {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  CheckRoundTrip(*LoadTokenizer(config));
}

TEST_CASE("One tokenizer encodes and decodes concurrently", "[cpu][tokenizer]") {
  const auto tokenizer = LoadTokenizer(ByteLevelTokenizerJson(kMerges));
  std::vector<std::vector<int32_t>> expected;
  for (const std::string& text : kTexts) expected.push_back(EncodeOk(*tokenizer, text));
  constexpr int kThreads = 4;
  std::vector<int> failures(kThreads, 0);  // checked here: Catch assertions are not thread-safe
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) {
        for (size_t i = 0; i < kTexts.size(); ++i) {
          const StatusOr<std::vector<int32_t>> ids = tokenizer->Encode(kTexts[i], false);
          const StatusOr<std::string> text = tokenizer->Decode(expected[i], false);
          if (!ids.ok() || *ids != expected[i] || !text.ok() || *text != kTexts[i]) ++failures[t];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(failures == std::vector<int>(kThreads, 0));
}

TEST_CASE("Byte-level merges are used", "[cpu][tokenizer]") {
  const auto tokenizer = LoadTokenizer(ByteLevelTokenizerJson(kMerges));
  const std::optional<int32_t> the = tokenizer->TokenToId("\u0120the");
  REQUIRE(the.has_value());
  CHECK(EncodeOk(*tokenizer, "in the") == std::vector<int32_t>{*tokenizer->TokenToId("in"), *the});
}

}  // namespace
}  // namespace specd::testing
