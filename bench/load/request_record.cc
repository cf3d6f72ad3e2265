// Per-request latencies (see request_record.h).
#include "bench/load/request_record.h"

namespace specd::bench {

int64_t RequestRecord::OutputTokens() const {
  int64_t tokens = 0;
  for (const TokenArrival& arrival : arrivals) tokens += arrival.tokens;
  return tokens;
}

std::optional<double> RequestRecord::TtftS() const {
  if (arrivals.empty()) return std::nullopt;
  return arrivals.front().time_s - sent_s;
}

double RequestRecord::E2eS() const { return finish_s.value_or(done_s) - sent_s; }

std::optional<double> RequestRecord::TpotS() const {
  const int64_t tokens = OutputTokens();
  if (tokens < 2) return std::nullopt;
  return (E2eS() - *TtftS()) / static_cast<double>(tokens - 1);
}

void RequestRecord::AppendItlS(std::vector<double>& out) const {
  for (size_t i = 1; i < arrivals.size(); ++i) {
    const double gap = arrivals[i].time_s - arrivals[i - 1].time_s;
    for (int64_t t = 0; t < arrivals[i].tokens; ++t) out.push_back(gap / static_cast<double>(arrivals[i].tokens));
  }
}

}  // namespace specd::bench
