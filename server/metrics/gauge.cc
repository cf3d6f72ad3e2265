#include "server/metrics/gauge.h"

#include "server/metrics/text_format.h"

namespace specd::metrics {

void Gauge::AppendSamples(std::string_view name, std::string_view labels, std::string* out) const {
  AppendSample(name, labels, Value(), out);
}

}  // namespace specd::metrics
