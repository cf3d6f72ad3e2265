#include "server/metrics/metrics_registry.h"

#include "engine/base/check.h"

namespace specd::metrics {

template <typename F>
F& MetricsRegistry::Register(std::unique_ptr<F> family) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& existing : families_) {
    SPECD_CHECK(existing->name() != family->name())
        << "metric " << family->name() << " registered twice";
  }
  F& result = *family;
  families_.push_back(std::move(family));
  return result;
}

MetricFamily<Counter>& MetricsRegistry::AddCounter(std::string name, std::string help,
                                                   std::vector<std::string> label_names) {
  return Register(std::make_unique<MetricFamily<Counter>>(
      std::move(name), std::move(help), std::move(label_names),
      [] { return std::make_unique<Counter>(); }));
}

MetricFamily<Gauge>& MetricsRegistry::AddGauge(std::string name, std::string help,
                                               std::vector<std::string> label_names) {
  return Register(std::make_unique<MetricFamily<Gauge>>(std::move(name), std::move(help),
                                                        std::move(label_names),
                                                        [] { return std::make_unique<Gauge>(); }));
}

MetricFamily<Histogram>& MetricsRegistry::AddHistogram(std::string name, std::string help,
                                                       std::vector<double> bounds,
                                                       std::vector<std::string> label_names) {
  // Check the bounds now, not at the first labeled child.
  Histogram check_bounds(bounds);
  return Register(std::make_unique<MetricFamily<Histogram>>(
      std::move(name), std::move(help), std::move(label_names),
      [bounds = std::move(bounds)] { return std::make_unique<Histogram>(bounds); }));
}

void MetricsRegistry::AddCallbackCounter(std::string name, std::string help,
                                         std::function<double()> value) {
  Register(std::make_unique<CallbackMetric>(std::move(name), std::move(help),
                                            CallbackMetric::Type::kCounter, std::move(value)));
}

void MetricsRegistry::AddCallbackGauge(std::string name, std::string help,
                                       std::function<double()> value) {
  Register(std::make_unique<CallbackMetric>(std::move(name), std::move(help),
                                            CallbackMetric::Type::kGauge, std::move(value)));
}

void MetricsRegistry::AddPreScrapeHook(std::function<void()> hook) {
  SPECD_CHECK(hook != nullptr) << "empty pre-scrape hook";
  std::lock_guard<std::mutex> lock(mutex_);
  pre_scrape_hooks_.push_back(std::move(hook));
}

std::string MetricsRegistry::RenderText() const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& hook : pre_scrape_hooks_) hook();
  std::string out;
  for (const auto& family : families_) family->Render(&out);
  return out;
}

}  // namespace specd::metrics
