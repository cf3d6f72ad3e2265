// Parsing arrival patterns and planning open-loop send times (see arrival_pattern.h).
#include "bench/load/arrival_pattern.h"

#include <cmath>
#include <sstream>

#include "engine/base/check.h"

namespace specd::bench {
namespace {

// Where a run of arrivals goes next: the Poisson gap, or the next burst boundary.
double NextOffset(const ArrivalPattern& pattern, int64_t index, double previous, SeededRng& rng) {
  if (pattern.kind == ArrivalPattern::Kind::kBurst) {
    return static_cast<double>(index / pattern.burst_size) * pattern.burst_interval_s;
  }
  return index == 0 ? 0.0 : previous + rng.Exponential(pattern.rate);
}

std::string Number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

}  // namespace

ArrivalPattern ArrivalPattern::Poisson(double rate) {
  ArrivalPattern pattern;
  pattern.rate = rate;
  return pattern;
}

ArrivalPattern ArrivalPattern::Concurrency(int64_t clients) {
  ArrivalPattern pattern;
  pattern.kind = Kind::kConcurrency;
  pattern.clients = clients;
  return pattern;
}

StatusOr<ArrivalPattern> ArrivalPattern::Parse(const JsonFields& fields) {
  if (fields.Find("pattern") == nullptr) return fields.Error("missing required field 'pattern'");
  SPECD_ASSIGN_OR_RETURN(const std::string name, fields.String("pattern", ""));
  ArrivalPattern pattern;
  if (name == "poisson") {
    SPECD_RETURN_IF_ERROR(fields.RejectUnknownKeys({"pattern", "rate"}));
    if (fields.Find("rate") == nullptr) return fields.Error("missing required field 'rate'");
    SPECD_ASSIGN_OR_RETURN(pattern.rate, fields.PositiveNumber("rate", 0));
    return pattern;
  }
  if (name == "burst") {
    SPECD_RETURN_IF_ERROR(fields.RejectUnknownKeys({"pattern", "size", "interval_s"}));
    pattern.kind = Kind::kBurst;
    SPECD_ASSIGN_OR_RETURN(pattern.burst_size, fields.PositiveInt("size", std::nullopt));
    if (fields.Find("interval_s") == nullptr) return fields.Error("missing required field 'interval_s'");
    SPECD_ASSIGN_OR_RETURN(pattern.burst_interval_s, fields.PositiveNumber("interval_s", 0));
    return pattern;
  }
  if (name == "concurrency") {
    SPECD_RETURN_IF_ERROR(fields.RejectUnknownKeys({"pattern", "clients"}));
    if (fields.Find("clients") == nullptr) return fields.Error("missing required field 'clients'");
    SPECD_ASSIGN_OR_RETURN(const int64_t clients, fields.IntInRange("clients", 0, 1, kMaxClients));
    return Concurrency(clients);
  }
  return fields.Error("'pattern' must be \"poisson\", \"burst\" or \"concurrency\", got \"" + name + "\"");
}

nlohmann::json ArrivalPattern::ToJson() const {
  switch (kind) {
    case Kind::kPoisson:
      return {{"pattern", "poisson"}, {"rate", rate}};
    case Kind::kBurst:
      return {{"pattern", "burst"}, {"size", burst_size}, {"interval_s", burst_interval_s}};
    case Kind::kConcurrency:
      return {{"pattern", "concurrency"}, {"clients", clients}};
  }
  return nullptr;
}

std::string ArrivalPattern::Describe() const {
  switch (kind) {
    case Kind::kPoisson:
      return "poisson " + Number(rate) + " req/s";
    case Kind::kBurst:
      return "burst " + std::to_string(burst_size) + " every " + Number(burst_interval_s) + " s";
    case Kind::kConcurrency:
      return "concurrency " + std::to_string(clients);
  }
  return "";
}

std::vector<double> ArrivalOffsets(const ArrivalPattern& pattern, const RunLimit& limit, SeededRng& rng) {
  SPECD_CHECK(pattern.open_loop()) << "closed-loop patterns have no planned arrivals";
  SPECD_CHECK(limit.requests.has_value() != limit.duration_s.has_value()) << "need exactly one of requests and duration_s";
  std::vector<double> offsets;
  double offset = 0.0;
  for (int64_t i = 0;; ++i) {
    if (limit.requests && i >= *limit.requests) break;
    offset = NextOffset(pattern, i, offset, rng);
    if (limit.duration_s && offset >= *limit.duration_s) break;
    offsets.push_back(offset);
  }
  return offsets;
}

}  // namespace specd::bench
