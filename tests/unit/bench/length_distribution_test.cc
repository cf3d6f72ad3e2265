// Token-length distributions: each form parses and samples within its bounds; bad ones name the
// field.
#include <set>

#include <catch2/catch.hpp>

#include "bench/load/length_distribution.h"

namespace specd::bench {
namespace {

StatusOr<LengthDistribution> Parse(const nlohmann::json& value) {
  const nlohmann::json parent = {{"tokens", value}};
  return LengthDistribution::Parse(JsonFields(parent, "w.json: 'prompt'"), "tokens");
}

std::string ParseError(const nlohmann::json& value) {
  const auto distribution = Parse(value);
  REQUIRE_FALSE(distribution.ok());
  CHECK(distribution.status().code() == StatusCode::kInvalidArgument);
  return distribution.status().message();
}

}  // namespace

TEST_CASE("lengths: a bare integer and the fixed form are one length", "[cpu]") {
  SeededRng rng(1);
  for (const nlohmann::json& value : {nlohmann::json(64), nlohmann::json{{"distribution", "fixed"}, {"value", 64}}}) {
    const auto distribution = Parse(value);
    REQUIRE(distribution.ok());
    CHECK(distribution->Sample(rng) == 64);
    CHECK(distribution->min() == 64);
    CHECK(distribution->max() == 64);
  }
}

TEST_CASE("lengths: uniform covers [min, max]", "[cpu]") {
  const auto distribution = Parse({{"distribution", "uniform"}, {"min", 4}, {"max", 7}});
  REQUIRE(distribution.ok());
  SeededRng rng(2);
  std::set<int64_t> seen;
  for (int i = 0; i < 200; ++i) seen.insert(distribution->Sample(rng));
  CHECK(seen == std::set<int64_t>{4, 5, 6, 7});
  CHECK(distribution->ToJson() == nlohmann::json{{"distribution", "uniform"}, {"min", 4}, {"max", 7}});
}

TEST_CASE("lengths: normal is clamped to [min, max] around its mean", "[cpu]") {
  const auto distribution = Parse({{"distribution", "normal"}, {"mean", 100}, {"stddev", 50}, {"min", 80}, {"max", 120}});
  REQUIRE(distribution.ok());
  SeededRng rng(3);
  double sum = 0;
  int at_bounds = 0;
  for (int i = 0; i < 4000; ++i) {
    const int64_t length = distribution->Sample(rng);
    REQUIRE(length >= 80);
    REQUIRE(length <= 120);
    at_bounds += length == 80 || length == 120;
    sum += static_cast<double>(length);
  }
  CHECK(sum / 4000 == Approx(100).margin(1.5));
  CHECK(at_bounds > 1000);  // |z| > 0.4 clamps: about 69% of draws
}

TEST_CASE("lengths: bad distributions name the problem", "[cpu]") {
  CHECK(ParseError(0) == "w.json: 'prompt': 'tokens' must be an integer in [1, 1048576], got 0");
  CHECK(ParseError("long") == "w.json: 'prompt': 'tokens' must be a token count or a distribution object, got \"long\"");
  CHECK(ParseError({{"min", 1}}) == "w.json: 'prompt': 'tokens': missing required field 'distribution'");
  CHECK(ParseError({{"distribution", "zipf"}}).find("'distribution' must be \"fixed\", \"uniform\" or \"normal\"") !=
        std::string::npos);
  CHECK(ParseError({{"distribution", "uniform"}, {"min", 9}, {"max", 3}}) == "w.json: 'prompt': 'tokens': need min <= max");
  CHECK(ParseError({{"distribution", "uniform"}, {"min", 1}, {"max", 3}, {"mean", 2}}) ==
        "w.json: 'prompt': 'tokens': unknown key 'mean'");
  CHECK(ParseError({{"distribution", "normal"}, {"min", 1}, {"max", 3}, {"mean", 2}}) ==
        "w.json: 'prompt': 'tokens': the normal distribution needs 'mean' and 'stddev'");
  CHECK(ParseError({{"distribution", "fixed"}}) == "w.json: 'prompt': 'tokens': missing required field 'value'");
}

}  // namespace specd::bench
