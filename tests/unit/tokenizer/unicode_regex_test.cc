// UnicodeRegex: Oniguruma escapes rewritten for PCRE2, onig-style match iteration.
#include "engine/tokenizer/unicode_regex.h"

#include <catch2/catch.hpp>

namespace specd {
namespace {

// Spans as "begin-end" strings, matches marked with '*'.
std::vector<std::string> Describe(const std::vector<Span>& spans) {
  std::vector<std::string> out;
  for (const Span& span : spans) {
    out.push_back(std::to_string(span.begin) + "-" + std::to_string(span.end) +
                  (span.is_match ? "*" : ""));
  }
  return out;
}

std::vector<std::string> Matches(const std::string& pattern, const std::string& text) {
  StatusOr<UnicodeRegex> regex = UnicodeRegex::Compile(pattern);
  INFO(regex.status().ToString());
  REQUIRE(regex.ok());
  StatusOr<std::vector<Span>> spans = regex->FindMatches(text);
  REQUIRE(spans.ok());
  return Describe(*spans);
}

using Strings = std::vector<std::string>;

TEST_CASE("Oniguruma class escapes are rewritten for PCRE2", "[cpu][tokenizer]") {
  CHECK(TranslateOnigurumaPattern(R"(\s+(?!\S))") == R"(\p{White_Space}+(?!\P{White_Space}))");
  CHECK(TranslateOnigurumaPattern(R"( ?[^\s\p{L}\p{N}]+)") == R"( ?[^\p{White_Space}\p{L}\p{N}]+)");
  CHECK(TranslateOnigurumaPattern(R"(\w+)") == R"([\p{L}\p{M}\p{N}\p{Pc}]+)");
  CHECK(TranslateOnigurumaPattern(R"([\w-])") == R"([\p{L}\p{M}\p{N}\p{Pc}-])");
  CHECK(TranslateOnigurumaPattern(R"(\W)") == R"([^\p{L}\p{M}\p{N}\p{Pc}])");
  CHECK(TranslateOnigurumaPattern(R"(\h)") == R"([0-9a-fA-F])");
  CHECK(TranslateOnigurumaPattern(R"([]\s])") == R"([]\p{White_Space}])");
  // Escaped backslashes and other escapes stay as written.
  CHECK(TranslateOnigurumaPattern(R"(\\s\d\p{L})") == R"(\\s\d\p{L})");
}

TEST_CASE("FindMatches covers the text like onig's find_iter", "[cpu][tokenizer]") {
  CHECK(Matches("\\d+", "ab12cd3") == Strings{"0-2", "2-4*", "4-6", "6-7*"});
  CHECK(Matches("\\d+", "") == Strings{"0-0"});
  CHECK(Matches("x", "abc") == Strings{"0-3"});
  // An empty match right after a match is skipped; others split the text.
  CHECK(Matches("a*", "baa") == Strings{"0-0*", "0-1", "1-3*"});
  CHECK(Matches("", "ab") == Strings{"0-0*", "0-1", "1-1*", "1-2", "2-2*"});
  // Lookahead sees past the match.
  CHECK(Matches("\\s+(?!\\S)", "a   b") == Strings{"0-1", "1-3*", "3-5"});
}

TEST_CASE("Literal patterns and compile errors", "[cpu][tokenizer]") {
  StatusOr<UnicodeRegex> dot = UnicodeRegex::Literal(".");
  REQUIRE(dot.ok());
  CHECK(Describe(dot->FindMatches("a.b").value()) == Strings{"0-1", "1-2*", "2-3"});
  const StatusOr<UnicodeRegex> bad = UnicodeRegex::Compile("(a");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(bad.status().message(), Catch::StartsWith("invalid regex '(a': "));
}

}  // namespace
}  // namespace specd
