// The output side of a request: incremental text, stop strings that span several tokens and
// several deltas, the cut at the stop, the engine told to end the request, merging of deltas.
#include <catch2/catch.hpp>

#include "engine/output/request_output_stream.h"
#include "tests/model_fixtures.h"

namespace specd {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<Tokenizer> TinyTokenizer() {
  const std::string dir = testing::MakeRandomModel("output_stream", testing::TinyLlamaOptions());
  auto tokenizer = Tokenizer::FromFile(dir + "/tokenizer.json");
  REQUIRE(tokenizer.ok());
  return std::move(tokenizer).value();
}

RequestDelta Delta(const std::vector<int32_t>& tokens, std::optional<FinishReason> finish = std::nullopt) {
  static const std::string kId = "r";  // (assigning the literal trips GCC 12's -Wrestrict bug 105329)
  RequestDelta delta;
  delta.request_id = kId;
  for (int32_t token : tokens) delta.tokens.push_back({token, -1.0f, 1, {}});
  delta.finish_reason = finish;
  return delta;
}

std::vector<int32_t> Encode(const Tokenizer& tokenizer, const std::string& text) {
  auto ids = tokenizer.Encode(text, /*add_special_tokens=*/false);
  REQUIRE(ids.ok());
  return *ids;
}

}  // namespace

TEST_CASE("output stream: a stop string spread over tokens and deltas ends the stream there", "[cpu]") {
  const auto tokenizer = TinyTokenizer();
  SamplingParams sampling;
  sampling.stop = {"STOP"};
  int ended = 0;
  RequestOutputStream stream(tokenizer.get(), sampling, [&] { ++ended; });
  const auto ids = Encode(*tokenizer, "hello STOP world");
  REQUIRE(ids.size() >= 10);  // byte-level: the stop string spans several tokens
  // One delta per token, as decoding produces them; the consumer reads after every delta.
  std::string text;
  std::optional<StreamOutput> last;
  for (int32_t id : ids) {
    stream.OnDelta(Delta({id}));
    auto output = stream.Next(1s);
    if (!output) break;  // finished: later deltas are dropped
    text.append(output->text);
    CHECK(text.find("ST") == std::string::npos);  // never a part of the stop string
    last = output;
    if (stream.finished()) break;
  }
  REQUIRE(last.has_value());
  CHECK(text == "hello ");
  CHECK(last->finish_reason == FinishReason::kStop);
  CHECK(last->matched_stop == "STOP");
  CHECK(ended == 1);
  stream.OnDelta(Delta({ids.back()}, FinishReason::kStop));  // the engine's own final delta
  CHECK_FALSE(stream.Next(10ms).has_value());
}

TEST_CASE("output stream: deltas queued while the consumer was busy arrive merged", "[cpu]") {
  const auto tokenizer = TinyTokenizer();
  SamplingParams sampling;
  sampling.stop = {"\n\n"};
  sampling.include_stop_str_in_output = true;
  RequestOutputStream stream(tokenizer.get(), sampling, nullptr);
  const auto ids = Encode(*tokenizer, "a b\n\nc");
  for (int32_t id : ids) stream.OnDelta(Delta({id}));
  const auto output = stream.Next(1s);
  REQUIRE(output.has_value());
  CHECK(output->text == "a b\n\n");
  CHECK(output->finish_reason == FinishReason::kStop);
  CHECK(output->tokens.size() == Encode(*tokenizer, "a b\n\n").size());  // cut after the stop
}

TEST_CASE("output stream: an engine finish flushes held text; stop token ids are named", "[cpu]") {
  const auto tokenizer = TinyTokenizer();
  SamplingParams sampling;
  sampling.stop = {"xyz"};
  sampling.stop_token_ids = {Encode(*tokenizer, "!")[0]};
  RequestOutputStream stream(tokenizer.get(), sampling, nullptr);
  auto ids = Encode(*tokenizer, "abc xy");
  stream.OnDelta(Delta(ids));
  auto first = stream.Next(1s);
  REQUIRE(first.has_value());
  CHECK(first->text == "abc ");  // "xy" could still become "xyz"
  stream.OnDelta(Delta(Encode(*tokenizer, "!"), FinishReason::kStop));
  auto last = stream.Next(1s);
  REQUIRE(last.has_value());
  CHECK(last->text == "xy!");
  CHECK(last->finish_reason == FinishReason::kStop);
  CHECK(last->matched_stop_token == sampling.stop_token_ids[0]);
  CHECK_FALSE(last->matched_stop.has_value());
  CHECK(stream.finished());
}

TEST_CASE("output stream: without a tokenizer it passes ids only", "[cpu]") {
  SamplingParams sampling;
  RequestOutputStream stream(nullptr, sampling, nullptr);
  stream.OnDelta(Delta({5, 6}));
  stream.OnDelta(Delta({7}, FinishReason::kLength));
  const auto output = stream.Next(1s);
  REQUIRE(output.has_value());
  CHECK(output->tokens.size() == 3);
  CHECK(output->text.empty());
  CHECK(output->finish_reason == FinishReason::kLength);
  CHECK_FALSE(stream.Next(10ms).has_value());
}

}  // namespace specd
