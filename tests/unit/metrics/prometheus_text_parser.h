// A strict reader of the Prometheus text exposition format 0.0.4, for tests: unit tests of
// server/metrics and end-to-end tests that scrape a running server's /metrics.
//
// Every sample must belong to a family declared by an earlier "# TYPE" line (histogram samples
// through their _bucket/_sum/_count suffixes; a _bucket needs an `le` label). Malformed lines,
// bad escapes, repeated HELP/TYPE lines and repeated samples are errors that name the line.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/base/status.h"

namespace specd::metrics_test {

using Labels = std::vector<std::pair<std::string, std::string>>;

struct ParsedMetrics {
  // SampleKey(name, labels) -> value, labels in the order the text gives them:
  //   "specd_requests_finished_total{reason=\"stop\",qos_class=\"standard\"}" -> 3
  //   "specd_prompt_tokens_total" -> 120
  std::map<std::string, double> samples;
  // Family name -> "counter", "gauge", "histogram", "summary" or "untyped".
  std::map<std::string, std::string> types;
  // Family name -> HELP text, unescaped.
  std::map<std::string, std::string> help;

  // The value under `key` (a SampleKey), or nullopt.
  std::optional<double> Find(const std::string& key) const;
  // The value of name{labels}, or nullopt.
  std::optional<double> Find(std::string_view name, const Labels& labels) const;
};

// The key of a sample: `name` alone, or `name{a="x",b="y"}` with values escaped as in the text
// format (\\, \", \n) and no spaces.
std::string SampleKey(std::string_view name, const Labels& labels = {});

StatusOr<ParsedMetrics> ParsePrometheusText(std::string_view text);

}  // namespace specd::metrics_test
