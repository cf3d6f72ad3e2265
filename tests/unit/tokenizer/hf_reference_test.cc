// Compares Encode / Decode / streaming with what Hugging Face `tokenizers` itself produced for
// the tokenizers under tests/data/tokenizers/ (written on the GPU machine by
// tools/reference/make_tokenizer_references.py). Missing data is a failure, not a skip.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/tokenizer/incremental_detokenizer.h"
#include "engine/tokenizer/tokenizer.h"
#include "tests/test_paths.h"

namespace specd::testing {
namespace {

const char* const kVariants[] = {"gpt2_bytelevel", "llama3_style", "qwen2_style", "metaspace",
                                 "sentencepiece_legacy"};
constexpr int kMaxReportedMismatches = 10;

std::string ReferenceDir() { return TestDataDir() + "/tokenizers"; }

std::string MissingDataMessage(const std::string& path) {
  return "HF reference data missing: " + path +
         " (generate it on the GPU machine: python3 "
         "tools/reference/make_tokenizer_references.py --out tests/data/tokenizers)";
}

// Escapes control and non-ASCII bytes so that a failing text is readable in the log.
std::string Escape(const std::string& text) {
  std::ostringstream out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7F && c != '\\') {
      out << c;
    } else {
      static const char* const kHex = "0123456789abcdef";
      out << "\\x" << kHex[byte >> 4] << kHex[byte & 0xF];
    }
  }
  return out.str();
}

std::string Describe(const std::vector<int32_t>& ids) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < ids.size(); ++i) out << (i ? ", " : "") << ids[i];
  out << "]";
  return out.str();
}

// Streams `ids` one at a time and returns the concatenated output.
StatusOr<std::string> Stream(const Tokenizer& tokenizer, const std::vector<int32_t>& ids) {
  IncrementalDetokenizer stream(tokenizer, /*skip_special_tokens=*/false,
                                /*continues_prompt=*/false);
  std::string text;
  for (const int32_t id : ids) {
    SPECD_ASSIGN_OR_RETURN(const std::string piece,
                           stream.Append(std::span<const int32_t>(&id, 1)));
    text += piece;
  }
  return text + stream.Finish();
}

// The first difference between our results and the reference for one case, or "".
std::string CompareCase(const Tokenizer& tokenizer, const nlohmann::json& reference) {
  const std::string text = reference.at("text").get<std::string>();
  const auto expected_with = reference.at("ids_with_special").get<std::vector<int32_t>>();
  const auto expected_without = reference.at("ids_without_special").get<std::vector<int32_t>>();
  const std::string expected_decoded = reference.at("decoded").get<std::string>();
  const std::string where = "text \"" + Escape(text) + "\": ";

  const StatusOr<std::vector<int32_t>> with = tokenizer.Encode(text, true);
  if (!with.ok()) return where + "Encode failed: " + with.status().ToString();
  if (*with != expected_with) {
    return where + "ids_with_special " + Describe(*with) + " != " + Describe(expected_with);
  }
  const StatusOr<std::vector<int32_t>> without = tokenizer.Encode(text, false);
  if (!without.ok()) return where + "Encode failed: " + without.status().ToString();
  if (*without != expected_without) {
    return where + "ids_without_special " + Describe(*without) +
           " != " + Describe(expected_without);
  }
  const StatusOr<std::string> decoded = tokenizer.Decode(expected_without, false);
  if (!decoded.ok()) return where + "Decode failed: " + decoded.status().ToString();
  if (*decoded != expected_decoded) {
    return where + "decoded \"" + Escape(*decoded) + "\" != \"" + Escape(expected_decoded) + "\"";
  }
  const StatusOr<std::string> streamed = Stream(tokenizer, expected_without);
  if (!streamed.ok()) return where + "streaming failed: " + streamed.status().ToString();
  if (*streamed != expected_decoded) {
    return where + "streamed \"" + Escape(*streamed) + "\" != \"" + Escape(expected_decoded) + "\"";
  }
  return "";
}

void CheckVariant(const std::string& name) {
  const std::string dir = ReferenceDir() + "/" + name;
  for (const std::string file : {"tokenizer.json", "expected.json"}) {
    if (!std::filesystem::exists(dir + "/" + file)) FAIL(MissingDataMessage(dir + "/" + file));
  }
  const StatusOr<std::unique_ptr<Tokenizer>> tokenizer =
      Tokenizer::FromFile(dir + "/tokenizer.json");
  if (!tokenizer.ok()) FAIL(tokenizer.status().ToString());
  const nlohmann::json expected = nlohmann::json::parse(std::ifstream(dir + "/expected.json"));
  const nlohmann::json& cases = expected.at("cases");
  REQUIRE_FALSE(cases.empty());
  int mismatches = 0;
  for (const nlohmann::json& reference : cases) {
    const std::string problem = CompareCase(**tokenizer, reference);
    if (problem.empty()) continue;
    if (++mismatches <= kMaxReportedMismatches) UNSCOPED_INFO(name << ": " << problem);
  }
  INFO(name << ": " << mismatches << " of " << cases.size() << " cases differ");
  CHECK(mismatches == 0);
}

TEST_CASE("Encode and Decode match Hugging Face tokenizers", "[cpu][tokenizer]") {
  const std::string texts = ReferenceDir() + "/texts.json";
  if (!std::filesystem::exists(texts)) FAIL(MissingDataMessage(texts));
  for (const char* const variant : kVariants) {
    SECTION(variant) { CheckVariant(variant); }
  }
}

}  // namespace
}  // namespace specd::testing
