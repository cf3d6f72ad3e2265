// The random model tool's tokenizer.json at a real vocabulary size (Llama 3's 128256, past the
// 65794 ids that byte pairs give): it loads, every id decodes, and text round-trips.
#include <catch2/catch.hpp>

#include "engine/tokenizer/tokenizer.h"
#include "tests/model_fixtures.h"

namespace specd::testing {
namespace {

constexpr int64_t kLlama3VocabSize = 128256;

RandomModelOptions LargeVocabOptions() {
  RandomModelOptions options = TinyLlamaOptions();
  options.vocab_size = kLlama3VocabSize;
  options.hidden_size = 8;
  options.intermediate_size = 8;
  options.num_layers = 1;
  options.num_heads = 2;
  options.num_kv_heads = 1;
  return options;
}

TEST_CASE("random model tokenizer covers a 128256-token vocabulary", "[cpu][tokenizer]") {
  const std::string dir = MakeRandomModel("random_model_large_vocab", LargeVocabOptions());
  auto tokenizer = Tokenizer::FromFile(dir + "/tokenizer.json");
  REQUIRE(tokenizer.ok());
  const Tokenizer& t = **tokenizer;
  CHECK(t.vocab_size() == kLlama3VocabSize);
  for (int32_t id = 0; id < kLlama3VocabSize; ++id) {
    const int32_t ids[] = {id};
    if (!t.Decode(ids, /*skip_special_tokens=*/false).ok()) FAIL("id " << id << " does not decode");
  }
  // Three-byte tokens follow the 256 x 256 byte pairs, in the merge order " etaoinsh...":
  // " th" is the pair " t" (' ' is 0th, 't' 2nd) extended by 'h' (8th).
  constexpr int32_t kSpaceTH = kRandomModelMinVocab + 256 * 256 + (0 * 256 + 2) * 256 + 8;
  CHECK(t.Encode(" th", /*add_special_tokens=*/false).value() == std::vector<int32_t>{kSpaceTH});
  const std::string text = "the quick brown fox\n\tdef f(x): return x * 2";
  auto ids = t.Encode(text, /*add_special_tokens=*/false);
  REQUIRE(ids.ok());
  CHECK(ids->size() < text.size());
  CHECK(t.Decode(*ids, false).value() == text);
}

}  // namespace
}  // namespace specd::testing
