#include "server/metrics/counter.h"

#include "engine/base/check.h"
#include "server/metrics/text_format.h"

namespace specd::metrics {

void Counter::Increment(int64_t n) {
  SPECD_DCHECK(n >= 0) << "counter decremented by " << -n;
  integer_part_.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
}

void Counter::Add(double delta) {
  SPECD_DCHECK(delta >= 0.0) << "counter added " << delta;
  fractional_part_.fetch_add(delta, std::memory_order_relaxed);
}

double Counter::Value() const {
  return static_cast<double>(integer_part_.load(std::memory_order_relaxed)) +
         fractional_part_.load(std::memory_order_relaxed);
}

void Counter::AppendSamples(std::string_view name, std::string_view labels,
                            std::string* out) const {
  AppendSample(name, labels, Value(), out);
}

}  // namespace specd::metrics
