// MetricsRegistry: owns every metric family of the process and renders them all in the
// Prometheus text format 0.0.4, in registration order.
//
// Threads: families are usually registered at startup, but every method is thread-safe.
// Updating a metric never touches the registry. RenderText (the scrape thread) holds the
// registry's mutex while it runs the pre-scrape hooks and renders, so scrapes are serialized
// and hooks and callbacks see one consistent pass. Hooks and callbacks must not call back into
// the registry.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "server/metrics/callback_metric.h"
#include "server/metrics/counter.h"
#include "server/metrics/gauge.h"
#include "server/metrics/histogram.h"
#include "server/metrics/metric_family.h"

namespace specd::metrics {

class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Each Add* CHECK-fails on an invalid or already registered name, or invalid label names.
  // The returned family lives as long as the registry.
  MetricFamily<Counter>& AddCounter(std::string name, std::string help,
                                    std::vector<std::string> label_names = {});
  MetricFamily<Gauge>& AddGauge(std::string name, std::string help,
                                std::vector<std::string> label_names = {});
  // `bounds`: finite, strictly increasing upper bounds; the +Inf bucket is implicit.
  MetricFamily<Histogram>& AddHistogram(std::string name, std::string help,
                                        std::vector<double> bounds,
                                        std::vector<std::string> label_names = {});

  // Unlabeled metrics whose value `value()` computes at scrape time.
  void AddCallbackCounter(std::string name, std::string help, std::function<double()> value);
  void AddCallbackGauge(std::string name, std::string help, std::function<double()> value);

  // Runs at the start of every RenderText, before any family renders (e.g. to take one
  // snapshot of the engine's stats that several callbacks then read).
  void AddPreScrapeHook(std::function<void()> hook);

  // The exposition text of every family (text/plain; version=0.0.4).
  std::string RenderText() const;

 private:
  template <typename F>
  F& Register(std::unique_ptr<F> family);

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<MetricFamilyBase>> families_;
  std::vector<std::function<void()>> pre_scrape_hooks_;
};

}  // namespace specd::metrics
