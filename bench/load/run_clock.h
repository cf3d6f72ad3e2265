// RunClock: the clock of one load run, in seconds since the run started (steady_clock).
// Immutable after construction; any thread.
#pragma once

#include <chrono>

namespace specd::bench {

class RunClock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  RunClock() : start_(std::chrono::steady_clock::now()) {}

  double Now() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }
  TimePoint At(double seconds) const {
    return start_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
  }

 private:
  TimePoint start_;
};

}  // namespace specd::bench
