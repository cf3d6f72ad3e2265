// ArrivalPattern: when a workload's requests are sent, from the preset's "arrival" object:
//
//   {"pattern": "poisson", "rate": 4.0}              open loop: exponential gaps, mean 1/rate s
//   {"pattern": "burst", "size": 8, "interval_s": 2} open loop: `size` requests at once, every
//                                                    interval_s seconds
//   {"pattern": "concurrency", "clients": 8}         closed loop: each client sends its next
//                                                    request when its previous one ends
//
// Open-loop arrivals are planned up front (ArrivalOffsets), so a slow server never delays them;
// the load runner records how far behind the plan each request actually went out.
// A RunLimit says when a run ends: after `requests` requests, or at `duration_s` seconds
// (no new request after that; those in flight finish). Immutable values; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/load/seeded_rng.h"
#include "engine/base/json_fields.h"
#include "engine/base/status.h"

namespace specd::bench {

struct RunLimit {
  std::optional<int64_t> requests;   // exactly one of the two is set
  std::optional<double> duration_s;
};

struct ArrivalPattern {
  enum class Kind { kPoisson, kBurst, kConcurrency };

  Kind kind = Kind::kPoisson;
  double rate = 1.0;              // kPoisson: requests per second
  int64_t burst_size = 1;         // kBurst
  double burst_interval_s = 1.0;  // kBurst
  int64_t clients = 1;            // kConcurrency

  // INVALID_ARGUMENT naming the field: unknown pattern or key, rate / interval <= 0,
  // size / clients outside [1, kMaxClients].
  static StatusOr<ArrivalPattern> Parse(const JsonFields& fields);
  static ArrivalPattern Poisson(double rate);
  static ArrivalPattern Concurrency(int64_t clients);

  bool open_loop() const { return kind != Kind::kConcurrency; }
  // The object form above, for reports.
  nlohmann::json ToJson() const;
  // "poisson 4 req/s", "burst 8 every 2 s", "concurrency 8", for tables.
  std::string Describe() const;
};

inline constexpr int64_t kMaxClients = 100000;

// Send times of an open-loop pattern, in seconds from the start of the run, non-decreasing;
// the first is 0. `count` of them with limit.requests, else every one before limit.duration_s.
// Precondition: pattern.open_loop().
std::vector<double> ArrivalOffsets(const ArrivalPattern& pattern, const RunLimit& limit, SeededRng& rng);

}  // namespace specd::bench
