// StopStringMatcher: hold-back of possible stop prefixes, matches across Append calls at every
// cut, earliest / longest match, UTF-8 stops, include_stop_in_output, Flush.
#include "engine/output/stop_string_matcher.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "engine/tokenizer/utf8.h"

namespace specd {
namespace {

// What a stream shows when `pieces` are appended in order (then flushed if nothing matched).
struct StreamResult {
  std::string text;
  std::optional<size_t> stop_index;
};

StreamResult Stream(const std::vector<std::string>& stops, bool include_stop,
                    const std::vector<std::string>& pieces) {
  StopStringMatcher matcher(stops, include_stop);
  StreamResult result;
  for (const std::string& piece : pieces) {
    StopStringMatcher::Result step = matcher.Append(piece);
    result.text += step.text;
    if (step.stop_index.has_value()) {
      REQUIRE_FALSE(result.stop_index.has_value());
      result.stop_index = step.stop_index;
    }
  }
  if (!result.stop_index.has_value()) result.text += matcher.Flush();
  return result;
}

// Every way to cut `text` into pieces (2^(size-1) of them), bytes at a time.
std::vector<std::vector<std::string>> AllCuts(const std::string& text) {
  std::vector<std::vector<std::string>> cuts;
  const size_t gaps = text.size() - 1;
  for (uint64_t mask = 0; mask < (uint64_t{1} << gaps); ++mask) {
    std::vector<std::string> pieces(1);
    for (size_t i = 0; i < text.size(); ++i) {
      pieces.back() += text[i];
      if (i < gaps && (mask >> i & 1)) pieces.emplace_back();
    }
    cuts.push_back(std::move(pieces));
  }
  return cuts;
}

// The same result for every cut of `text`.
void CheckEveryCut(const std::vector<std::string>& stops, bool include_stop,
                   const std::string& text, const std::string& expected_text,
                   std::optional<size_t> expected_stop) {
  for (const std::vector<std::string>& pieces : AllCuts(text)) {
    const StreamResult result = Stream(stops, include_stop, pieces);
    INFO("pieces: " << pieces.size() << ", first: '" << pieces.front() << "'");
    REQUIRE(result.text == expected_text);
    REQUIRE(result.stop_index == expected_stop);
  }
}

TEST_CASE("The header's example", "[cpu][output]") {
  StopStringMatcher matcher({"\n\n"}, false);
  StopStringMatcher::Result first = matcher.Append("foo\n");
  CHECK(first.text == "foo");
  CHECK_FALSE(first.stop_index.has_value());
  StopStringMatcher::Result second = matcher.Append("\nbar");
  CHECK(second.text == "");
  CHECK(second.stop_index == 0u);

  StopStringMatcher including({"\n\n"}, true);
  CHECK(including.Append("foo\n").text == "foo");
  CHECK(including.Append("\nbar").text == "\n\n");
}

TEST_CASE("Holds back exactly the longest tail that may start a stop", "[cpu][output]") {
  StopStringMatcher matcher({"abcd", "xy"}, false);
  CHECK(matcher.Append("zab").text == "z");  // "ab" may become "abcd"
  CHECK(matcher.Append("c").text == "");     // "abc" still may
  CHECK(matcher.Append("e").text == "abce");  // no longer: released, "e" is no prefix
  CHECK(matcher.Append("x").text == "");
  CHECK(matcher.Append("x").text == "x");     // "xx": only the last "x" may start "xy"
  CHECK(matcher.Flush() == "x");
  CHECK(matcher.Flush() == "");
}

TEST_CASE("A stop split across Appends at every possible cut", "[cpu][output]") {
  CheckEveryCut({"STOP"}, false, "ab STOP cd", "ab ", 0u);
  CheckEveryCut({"STOP"}, true, "ab STOP cd", "ab STOP", 0u);
  CheckEveryCut({"\n\n"}, false, "x\ny\n\nz", "x\ny", 0u);
  CheckEveryCut({"STOP"}, false, "ab STO cd ST", "ab STO cd ST", std::nullopt);
}

TEST_CASE("The earliest match wins, then the longest at that start", "[cpu][output]") {
  // Overlapping stops: "abc" starts before "bcd".
  CheckEveryCut({"bcd", "abc"}, false, "xabcdy", "x", 1u);
  CheckEveryCut({"bcd", "abc"}, true, "xabcdy", "xabc", 1u);
  // A stop that is a prefix of another: given together, the longer one matches.
  CHECK(Stream({"ab", "abc"}, true, {"xabcz"}).text == "xabc");
  CHECK(Stream({"ab", "abc"}, true, {"xabcz"}).stop_index == 1u);
  // ... but the stream ends as soon as one is complete: "ab" in the first piece.
  CHECK(Stream({"ab", "abc"}, true, {"xab", "cz"}).text == "xab");
  CHECK(Stream({"ab", "abc"}, true, {"xab", "cz"}).stop_index == 0u);
  CHECK(Stream({"abc", "ab"}, false, {"xa", "bcz"}).stop_index == 0u);  // "abc" longer, same start
  // The same stop twice: the lower index.
  CHECK(Stream({"zz", "q", "zz"}, false, {"azzq"}).stop_index == 0u);
}

TEST_CASE("A longer pending stop does not delay a stop that ends first", "[cpu][output]") {
  // "bc" completes while "abcd" is still only a prefix: the stream ends at "bc".
  StopStringMatcher matcher({"abcd", "bc"}, false);
  CHECK(matcher.Append("xa").text == "x");
  StopStringMatcher::Result result = matcher.Append("bc");
  CHECK(result.text == "a");
  CHECK(result.stop_index == 1u);
}

TEST_CASE("Self-overlapping stops hold back the right tail", "[cpu][output]") {
  CheckEveryCut({"aab"}, false, "aaab", "a", 0u);
  CheckEveryCut({"aab"}, false, "aaaac", "aaaac", std::nullopt);
  CheckEveryCut({"abab"}, true, "abaababx", "abaabab", 0u);
}

TEST_CASE("UTF-8 stops: CJK and emoji", "[cpu][output]") {
  const std::string text = "好世界🛑见";  // 16 bytes: 2^15 cuts, inside characters too
  CheckEveryCut({"世界"}, false, text, "好", 0u);
  CheckEveryCut({"🛑"}, true, text, "好世界🛑", 0u);
  CheckEveryCut({"见!"}, false, text, text, std::nullopt);
  // A stop sharing a lead byte with the text's characters: "é" (C3 A9) vs "ã" (C3 A3).
  CHECK(Stream({"é"}, false, {"ãã", "ãé", "x"}).text == "ããã");
}

TEST_CASE("Whole-character input gives whole-character output", "[cpu][output]") {
  StopStringMatcher matcher({"好世", "🛑!"}, false);
  const std::vector<std::string> chars = {"你", "好", "好", "🛑", "x", "世", "界"};
  std::string shown;
  for (const std::string& c : chars) {
    StopStringMatcher::Result result = matcher.Append(c);
    CHECK_FALSE(utf8::FindInvalid(result.text).has_value());
    shown += result.text;
    if (result.stop_index.has_value()) break;
  }
  shown += matcher.Flush();
  CHECK(shown == "你好好🛑x世界");
}

TEST_CASE("Nothing after a match; Flush after a match is empty", "[cpu][output]") {
  StopStringMatcher matcher({"END"}, true);
  StopStringMatcher::Result result = matcher.Append("doneEND and more");
  CHECK(result.text == "doneEND");
  CHECK(result.stop_index == 0u);
  result = matcher.Append("EN");
  CHECK(result.text == "");
  CHECK_FALSE(result.stop_index.has_value());
  CHECK(matcher.Flush() == "");
}

TEST_CASE("Without stops text passes straight through", "[cpu][output]") {
  StopStringMatcher matcher({}, false);
  CHECK(matcher.Append("any text\n\n").text == "any text\n\n");
  CHECK(matcher.Append("").text == "");
  CHECK(matcher.Flush() == "");
}

}  // namespace
}  // namespace specd
