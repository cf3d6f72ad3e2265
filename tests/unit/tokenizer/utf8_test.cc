// UTF-8 validation and lossy conversion (the from_utf8_lossy rule).
#include "engine/tokenizer/utf8.h"

#include <catch2/catch.hpp>

namespace specd::utf8 {
namespace {

const std::string kFffd(kReplacementUtf8);

TEST_CASE("FindInvalid locates the first ill-formed sequence", "[cpu][tokenizer]") {
  CHECK_FALSE(FindInvalid("").has_value());
  CHECK_FALSE(FindInvalid("plain \xC3\xA9 \xF0\x9F\x98\x80").has_value());
  CHECK(FindInvalid("ab\xFF") == 2);
  CHECK(FindInvalid("\xC0\x80") == 0);          // overlong
  CHECK(FindInvalid("x\xED\xA0\x80") == 1);     // surrogate
  CHECK(FindInvalid("\xF4\x90\x80\x80") == 0);  // above U+10FFFF
  CHECK(FindInvalid("\xE4\xBD") == 0);          // truncated
}

TEST_CASE("DecodeLossy replaces maximal ill-formed subparts", "[cpu][tokenizer]") {
  CHECK(DecodeLossy("ok") == "ok");
  CHECK(DecodeLossy("\xFF") == kFffd);
  CHECK(DecodeLossy("\xF0\x9F\x98") == kFffd);  // one truncated sequence
  CHECK(DecodeLossy("\xF0\x9F"
                    "a") == kFffd + "a");
  CHECK(DecodeLossy("\xED\xA0\x80") == kFffd + kFffd + kFffd);  // surrogate: 3 subparts
  CHECK(DecodeLossy("\xE4\xBD\xE4\xBD\xA0") == kFffd + "\xE4\xBD\xA0");
  CHECK(DecodeLossy("\x80\x80") == kFffd + kFffd);
}

TEST_CASE("DecodeLossyPrefix holds back an incomplete tail", "[cpu][tokenizer]") {
  size_t consumed = 0;
  CHECK(DecodeLossyPrefix("a\xF0\x9F\x98", consumed) == "a");
  CHECK(consumed == 1);
  CHECK(DecodeLossyPrefix("a\xF0\x9F\x98\x80", consumed) == "a\xF0\x9F\x98\x80");
  CHECK(consumed == 5);
  // A tail that can never complete is replaced at once.
  CHECK(DecodeLossyPrefix("a\xF0\x41", consumed) == "a" + kFffd + "A");
  CHECK(consumed == 3);
  CHECK(DecodeLossyPrefix("\xFF\xE4", consumed) == kFffd);
  CHECK(consumed == 1);
}

TEST_CASE("Encode and DecodeAt", "[cpu][tokenizer]") {
  for (const char32_t c : {U'a', U'\u00E9', U'\u4F60', U'\U0001F600'}) {
    const std::string text = Encode(c);
    const DecodedChar decoded = DecodeAt(text, 0);
    CHECK(decoded.code_point == c);
    CHECK(decoded.length == text.size());
  }
  CHECK(CountChars("a\xC3\xA9\xF0\x9F\x98\x80") == 3);
}

}  // namespace
}  // namespace specd::utf8
