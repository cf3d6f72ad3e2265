// IncrementalDetokenizer: characters split across tokens are never emitted half-way, the
// concatenated output equals Decode, ill-formed bytes become U+FFFD.
#include "engine/tokenizer/incremental_detokenizer.h"

#include <catch2/catch.hpp>

#include "engine/tokenizer/utf8.h"
#include "tests/unit/tokenizer/tokenizer_test_util.h"

namespace specd::testing {
namespace {

using Ids = std::vector<int32_t>;
const std::string kFffd(utf8::kReplacementUtf8);

// Feeds `ids` one at a time; returns every Append result, then Finish's.
std::vector<std::string> Stream(IncrementalDetokenizer& stream, const Ids& ids) {
  std::vector<std::string> pieces;
  for (const int32_t id : ids) {
    const StatusOr<std::string> piece = stream.Append(std::span<const int32_t>(&id, 1));
    INFO(piece.status().ToString());
    REQUIRE(piece.ok());
    CHECK_FALSE(utf8::FindInvalid(*piece).has_value());
    pieces.push_back(*piece);
  }
  pieces.push_back(stream.Finish());
  return pieces;
}

std::string Join(const std::vector<std::string>& pieces) {
  std::string text;
  for (const std::string& piece : pieces) text += piece;
  return text;
}

// Byte-level, no merges: every byte is its own token (id = byte value).
std::unique_ptr<Tokenizer> BytePerTokenTokenizer() {
  return LoadTokenizer(ByteLevelTokenizerJson({}));
}

// Metaspace + byte fallback, modern (Metaspace decoder) or legacy (Replace/Fuse/Strip) style.
std::unique_ptr<Tokenizer> SentencePieceTokenizer(bool legacy) {
  std::vector<std::string> vocab = {"<unk>", "\u2581Hello", "\u2581world", "!"};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    vocab.push_back(name);
  }
  nlohmann::json config = TokenizerJson(BpeModelJson(vocab));
  config["model"]["unk_token"] = "<unk>";
  config["model"]["byte_fallback"] = true;
  config["added_tokens"] = {AddedTokenJson(260, "<s>", true)};
  const nlohmann::json byte_fallback = {{"type", "ByteFallback"}};
  const nlohmann::json fuse = {{"type", "Fuse"}};
  if (legacy) {
    config["decoder"] = {
        {"type", "Sequence"},
        {"decoders",
         {{{"type", "Replace"}, {"pattern", {{"String", "\u2581"}}}, {"content", " "}},
          byte_fallback,
          fuse,
          {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}};
  } else {
    config["decoder"] = {{"type", "Sequence"},
                         {"decoders",
                          {{{"type", "Metaspace"},
                            {"replacement", "\u2581"},
                            {"prepend_scheme", "first"},
                            {"split", false}},
                           byte_fallback,
                           fuse}}};
  }
  return LoadTokenizer(config);
}

int32_t ByteToken(uint8_t b) { return 4 + b; }

TEST_CASE("Emoji split across byte tokens is emitted whole", "[cpu][tokenizer]") {
  const auto tokenizer = BytePerTokenTokenizer();
  IncrementalDetokenizer stream(*tokenizer, false, false);
  const Ids ids = {0xF0, 0x9F, 0x98, 0x80, 'a'};
  CHECK(Stream(stream, ids) == std::vector<std::string>{"", "", "", "\xF0\x9F\x98\x80", "a", ""});
}

TEST_CASE("Streaming a byte-level encoding reproduces Decode", "[cpu][tokenizer]") {
  const auto tokenizer = BytePerTokenTokenizer();
  const std::string text =
      "h\xC3\xA9llo \xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9 \xE4\xBD\xA0\xE5\xA5\xBD "
      "\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7<|endoftext|>!";
  const Ids ids = EncodeOk(*tokenizer, text);
  for (const bool skip : {false, true}) {
    IncrementalDetokenizer stream(*tokenizer, skip, false);
    CHECK(Join(Stream(stream, ids)) == DecodeOk(*tokenizer, ids, skip));
  }
  // Appending everything at once gives the same text.
  IncrementalDetokenizer stream(*tokenizer, false, false);
  const StatusOr<std::string> all = stream.Append(ids);
  REQUIRE(all.ok());
  CHECK(*all + stream.Finish() == text);
}

TEST_CASE("Ill-formed bytes become U+FFFD", "[cpu][tokenizer]") {
  const auto tokenizer = BytePerTokenTokenizer();
  IncrementalDetokenizer stream(*tokenizer, false, false);
  CHECK(Stream(stream, {0xFF, 'a', 0xF0, 0x9F, 'b', 0xE4, 0xBD}) ==
        std::vector<std::string>{kFffd, "a", "", "", kFffd + "b", "", "", kFffd});
}

TEST_CASE("A bad id is refused and leaves the stream unchanged", "[cpu][tokenizer]") {
  const auto tokenizer = BytePerTokenTokenizer();
  IncrementalDetokenizer stream(*tokenizer, false, false);
  const Ids start = {0xF0, 0x9F};
  REQUIRE(stream.Append(start).ok());
  const Ids bad = {0x98, 5000};
  const StatusOr<std::string> result = stream.Append(bad);
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(result.status().message(), Catch::Contains("token id 5000"));
  const Ids rest = {0x98, 0x80};
  CHECK(stream.Append(rest).value() == "\xF0\x9F\x98\x80");
}

TEST_CASE("CJK through byte fallback, one byte token at a time", "[cpu][tokenizer]") {
  for (const bool legacy : {false, true}) {
    const auto tokenizer = SentencePieceTokenizer(legacy);
    // "▁Hello" "你" (E4 BD A0) "▁world" "!"
    const Ids ids = {1, ByteToken(0xE4), ByteToken(0xBD), ByteToken(0xA0), 2, 3};
    IncrementalDetokenizer stream(*tokenizer, false, false);
    const std::vector<std::string> pieces = Stream(stream, ids);
    CHECK(pieces == std::vector<std::string>{"Hello", "", "", "\xE4\xBD\xA0", " world", "!", ""});
    CHECK(Join(pieces) == DecodeOk(*tokenizer, ids));
  }
}

TEST_CASE("continues_prompt keeps the first token's leading space", "[cpu][tokenizer]") {
  for (const bool legacy : {false, true}) {
    const auto tokenizer = SentencePieceTokenizer(legacy);
    IncrementalDetokenizer fresh(*tokenizer, false, /*continues_prompt=*/false);
    CHECK(Stream(fresh, {2, 3}) == std::vector<std::string>{"world", "!", ""});
    IncrementalDetokenizer generated(*tokenizer, false, /*continues_prompt=*/true);
    CHECK(Stream(generated, {2, 3}) == std::vector<std::string>{" world", "!", ""});
  }
}

TEST_CASE("Skipped special tokens do not count as the first token", "[cpu][tokenizer]") {
  const auto tokenizer = SentencePieceTokenizer(/*legacy=*/true);
  const Ids ids = {260, 1, 2};
  IncrementalDetokenizer skipping(*tokenizer, /*skip_special_tokens=*/true, false);
  CHECK(Join(Stream(skipping, ids)) == "Hello world");
  CHECK(DecodeOk(*tokenizer, ids, true) == "Hello world");
  IncrementalDetokenizer keeping(*tokenizer, /*skip_special_tokens=*/false, false);
  CHECK(Join(Stream(keeping, ids)) == "<s> Hello world");
  CHECK(DecodeOk(*tokenizer, ids, false) == "<s> Hello world");
}

TEST_CASE("Without a decoder streamed tokens are joined with spaces", "[cpu][tokenizer]") {
  const auto tokenizer = LoadTokenizer(TokenizerJson(BpeModelJson({"ab", "c"})));
  IncrementalDetokenizer stream(*tokenizer, false, false);
  CHECK(Join(Stream(stream, {0, 1, 0})) == DecodeOk(*tokenizer, {0, 1, 0}));
}

}  // namespace
}  // namespace specd::testing
