// Arrival patterns: planned send times for known inputs, determinism, the Poisson mean gap, and
// parse errors that name the field.
#include <algorithm>

#include <catch2/catch.hpp>

#include "bench/load/arrival_pattern.h"

namespace specd::bench {
namespace {

std::string ParseError(const nlohmann::json& json) {
  const auto pattern = ArrivalPattern::Parse(JsonFields(json, "w.json: 'arrival'"));
  REQUIRE_FALSE(pattern.ok());
  CHECK(pattern.status().code() == StatusCode::kInvalidArgument);
  return pattern.status().message();
}

ArrivalPattern Parse(const nlohmann::json& json) {
  auto pattern = ArrivalPattern::Parse(JsonFields(json, "w.json"));
  REQUIRE(pattern.status().ToString() == "OK");
  return *pattern;
}

}  // namespace

TEST_CASE("arrivals: bursts of 3 every 2 s", "[cpu]") {
  const ArrivalPattern burst = Parse({{"pattern", "burst"}, {"size", 3}, {"interval_s", 2}});
  SeededRng rng(1);
  CHECK(ArrivalOffsets(burst, {.requests = 7, .duration_s = std::nullopt}, rng) ==
        std::vector<double>{0, 0, 0, 2, 2, 2, 4});
  CHECK(ArrivalOffsets(burst, {.requests = std::nullopt, .duration_s = 4.0}, rng) ==
        std::vector<double>{0, 0, 0, 2, 2, 2});
  CHECK(burst.Describe() == "burst 3 every 2 s");
}

TEST_CASE("arrivals: poisson starts at 0, repeats for a seed, has mean gap 1/rate", "[cpu]") {
  const ArrivalPattern poisson = Parse({{"pattern", "poisson"}, {"rate", 4.0}});
  SeededRng first(9), second(9), other(10);
  const RunLimit limit{.requests = 20000, .duration_s = std::nullopt};
  const std::vector<double> offsets = ArrivalOffsets(poisson, limit, first);
  REQUIRE(offsets.size() == 20000);
  CHECK(offsets.front() == 0.0);
  CHECK(std::is_sorted(offsets.begin(), offsets.end()));
  CHECK(offsets.back() / (offsets.size() - 1) == Approx(0.25).epsilon(0.02));
  CHECK(ArrivalOffsets(poisson, limit, second) == offsets);
  CHECK(ArrivalOffsets(poisson, limit, other) != offsets);
}

TEST_CASE("arrivals: a duration limit keeps every arrival before it", "[cpu]") {
  SeededRng rng(3);
  const std::vector<double> offsets =
      ArrivalOffsets(ArrivalPattern::Poisson(50.0), {.requests = std::nullopt, .duration_s = 2.0}, rng);
  CHECK(offsets.size() > 60);  // about 100 expected
  CHECK(offsets.size() < 140);
  CHECK(offsets.back() < 2.0);
}

TEST_CASE("arrivals: concurrency is closed loop", "[cpu]") {
  const ArrivalPattern clients = Parse({{"pattern", "concurrency"}, {"clients", 8}});
  CHECK_FALSE(clients.open_loop());
  CHECK(clients.clients == 8);
  CHECK(clients.ToJson() == nlohmann::json{{"pattern", "concurrency"}, {"clients", 8}});
}

TEST_CASE("arrivals: bad patterns name the problem", "[cpu]") {
  CHECK(ParseError({{"rate", 1}}) == "w.json: 'arrival': missing required field 'pattern'");
  CHECK(ParseError({{"pattern", "gamma"}}).find("'pattern' must be \"poisson\", \"burst\" or \"concurrency\"") !=
        std::string::npos);
  CHECK(ParseError({{"pattern", "poisson"}}).find("missing required field 'rate'") != std::string::npos);
  CHECK(ParseError({{"pattern", "poisson"}, {"rate", -2}}).find("'rate' must be a positive number, got -2") !=
        std::string::npos);
  CHECK(ParseError({{"pattern", "poisson"}, {"rate", 2}, {"clients", 4}}).find("unknown key 'clients'") !=
        std::string::npos);
  CHECK(ParseError({{"pattern", "burst"}, {"size", 0}, {"interval_s", 1}}).find("'size' must be a positive integer") !=
        std::string::npos);
  CHECK(ParseError({{"pattern", "concurrency"}, {"clients", 0}}).find("'clients' must be an integer in [1, 100000]") !=
        std::string::npos);
}

}  // namespace specd::bench
