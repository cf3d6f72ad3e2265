// Normalizers and the original-offset bookkeeping of NormalizedText.
#include "engine/tokenizer/normalizer.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace specd {
namespace {

std::string Normalize(const nlohmann::json& config, const std::string& text) {
  StatusOr<std::unique_ptr<Normalizer>> normalizer =
      Normalizer::FromJson(JsonView(config, "normalizer"));
  INFO(normalizer.status().ToString());
  REQUIRE(normalizer.ok());
  NormalizedText normalized(text, 0);
  REQUIRE((*normalizer)->Normalize(normalized).ok());
  return normalized.text();
}

nlohmann::json Replace(const nlohmann::json& pattern, const std::string& content) {
  return {{"type", "Replace"}, {"pattern", pattern}, {"content", content}};
}

TEST_CASE("Unicode normalization forms", "[cpu][tokenizer]") {
  const std::string decomposed = "e\xCC\x81";  // e + U+0301
  const std::string precomposed = "\xC3\xA9";  // U+00E9
  CHECK(Normalize({{"type", "NFC"}}, decomposed) == precomposed);
  CHECK(Normalize({{"type", "NFD"}}, precomposed) == decomposed);
  CHECK(Normalize({{"type", "NFC"}}, "\xEF\xAC\x81") == "\xEF\xAC\x81");  // U+FB01 ligature fi
  CHECK(Normalize({{"type", "NFKC"}}, "\xEF\xAC\x81 \xE2\x91\xA0") == "fi 1");  // "ﬁ ①"
  CHECK(Normalize({{"type", "NFKD"}}, "\xEF\xAC\x81" + precomposed) == "fi" + decomposed);
  // Hangul: jamo compose under NFC.
  CHECK(Normalize({{"type", "NFC"}}, "\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB") ==
        "\xED\x95\x9C");  // U+1112 U+1161 U+11AB -> U+D55C
  CHECK(Normalize({{"type", "NFC"}}, std::string("a\0b", 3)) == std::string("a\0b", 3));
}

TEST_CASE("Lowercase uses full lowercase mappings", "[cpu][tokenizer]") {
  CHECK(Normalize({{"type", "Lowercase"}}, "HeLLo \xC3\x89") == "hello \xC3\xA9");
  CHECK(Normalize({{"type", "Lowercase"}}, "\xC4\xB0") == "i\xCC\x87");  // U+0130
  CHECK(Normalize({{"type", "Lowercase"}}, "\xCE\xA3") == "\xCF\x83");   // Σ -> σ
}

TEST_CASE("Strip removes White_Space at the ends", "[cpu][tokenizer]") {
  const std::string text = " \t hi \xE3\x80\x80\n";  // ends with U+3000 and a newline
  CHECK(Normalize({{"type", "Strip"}, {"strip_left", true}, {"strip_right", true}}, text) == "hi");
  CHECK(Normalize({{"type", "Strip"}, {"strip_left", true}, {"strip_right", false}}, text) ==
        "hi \xE3\x80\x80\n");
  CHECK(Normalize({{"type", "Strip"}, {"strip_left", false}, {"strip_right", true}}, text) ==
        " \t hi");
  CHECK(Normalize({{"type", "Strip"}, {"strip_left", true}, {"strip_right", true}}, "  ") == "");
}

TEST_CASE("Replace with String and Regex patterns", "[cpu][tokenizer]") {
  CHECK(Normalize(Replace({{"String", " "}}, "\u2581"), "a b  c") == "a\u2581b\u2581\u2581c");
  CHECK(Normalize(Replace({{"String", "."}}, "!"), "a.b") == "a!b");
  CHECK(Normalize(Replace({{"Regex", "\\s+"}}, " "), "a \t b\n") == "a b ");
  CHECK(Normalize(Replace({{"Regex", "[0-9]"}}, ""), "a1b22") == "ab");
}

TEST_CASE("Prepend and Sequence (Llama-2 legacy normalizer)", "[cpu][tokenizer]") {
  CHECK(Normalize({{"type", "Prepend"}, {"prepend", "\u2581"}}, "hi") == "\u2581hi");
  CHECK(Normalize({{"type", "Prepend"}, {"prepend", "\u2581"}}, "") == "");
  const nlohmann::json legacy = {
      {"type", "Sequence"},
      {"normalizers",
       {{{"type", "Prepend"}, {"prepend", "\u2581"}}, Replace({{"String", " "}}, "\u2581")}}};
  CHECK(Normalize(legacy, "hello world") == "\u2581hello\u2581world");
  CHECK(Normalize(legacy, " x") == "\u2581\u2581x");
}

TEST_CASE("Unknown normalizers are refused", "[cpu][tokenizer]") {
  const nlohmann::json config = {{"type", "BertNormalizer"}};
  const auto result = Normalizer::FromJson(JsonView(config, "normalizer"));
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().code() == StatusCode::kInvalidArgument);
  CHECK(result.status().message() == "normalizer: unsupported normalizer type 'BertNormalizer'");
  const nlohmann::json nested = {{"type", "Sequence"},
                                 {"normalizers", {{{"type", "NFC"}}, {{"type", "Nmt"}}}}};
  CHECK(Normalizer::FromJson(JsonView(nested, "normalizer")).status().message() ==
        "normalizer.normalizers[1]: unsupported normalizer type 'Nmt'");
}

TEST_CASE("NormalizedText keeps original offsets through edits", "[cpu][tokenizer]") {
  NormalizedText stripped("  ab", 10);
  stripped.Strip(true, false);
  CHECK(stripped.text() == "ab");
  CHECK(stripped.Slice(0, 1).original_start() == 12);
  CHECK(stripped.original_start() == 10);  // the piece itself still starts at 10

  NormalizedText prefixed("ab", 0);
  prefixed.Prepend("\u2581");
  CHECK(prefixed.Slice(0, 3).original_start() == 0);
  CHECK(prefixed.Slice(3, 4).original_start() == 0);
  CHECK(prefixed.Slice(4, 5).original_start() == 1);

  // Replacement text takes the offset of the last replaced character.
  NormalizedText replaced("a  b", 0);
  replaced.Replace({{0, 1, false}, {1, 3, true}, {3, 4, false}}, "_");
  CHECK(replaced.text() == "a_b");
  CHECK(replaced.Slice(1, 2).original_start() == 2);
  CHECK(replaced.Slice(2, 3).original_start() == 3);
}

}  // namespace
}  // namespace specd
