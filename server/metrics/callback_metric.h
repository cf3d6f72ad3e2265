// CallbackMetric: an unlabeled counter or gauge whose value is computed at scrape time by a
// function (e.g. requests running, read from the engine's stats). The function runs on the
// scrape thread, inside MetricsRegistry::RenderText, and must be thread-safe; it must not call
// back into the registry.
#pragma once

#include <functional>
#include <string>

#include "server/metrics/metric_family_base.h"

namespace specd::metrics {

class CallbackMetric final : public MetricFamilyBase {
 public:
  enum class Type { kCounter, kGauge };

  // CHECK-fails on an invalid name or an empty function.
  CallbackMetric(std::string name, std::string help, Type type, std::function<double()> value);

  const std::string& name() const override { return name_; }
  void Render(std::string* out) const override;

 private:
  const std::string name_;
  const std::string help_;
  const Type type_;
  const std::function<double()> value_;
};

}  // namespace specd::metrics
