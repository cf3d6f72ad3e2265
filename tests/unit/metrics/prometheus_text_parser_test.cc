// The test-side exposition parser: keys, values, HELP/TYPE, escapes, and the malformed input
// it must refuse (so that renderer bugs cannot slip through the tests that use it).
#include "tests/unit/metrics/prometheus_text_parser.h"

#include <cmath>

#include <catch2/catch.hpp>

namespace specd::metrics_test {
namespace {

TEST_CASE("parser reads samples, labels, help and types", "[cpu]") {
  const auto parsed = ParsePrometheusText(
      "# HELP fin_total Finished\\nrequests \\\\ all.\n"
      "# TYPE fin_total counter\n"
      "fin_total{reason=\"stop\",qos_class=\"a\\\"b\\\\c\\nd\"} 3\n"
      "# a plain comment\n"
      "\n"
      "# TYPE lat histogram\n"
      "lat_bucket{le=\"0.5\"} 1\n"
      "lat_bucket{le=\"+Inf\"} 2 1700000000000\n"
      "lat_sum 0.75\n"
      "lat_count 2\n"
      "# TYPE g gauge\n"
      "g{ a = \"x\" , } -Inf\n"
      "# TYPE n gauge\n"
      "n NaN\n");
  INFO(parsed.status().ToString());
  REQUIRE(parsed.ok());
  CHECK(parsed->help.at("fin_total") == "Finished\nrequests \\ all.");
  CHECK(parsed->types.at("lat") == "histogram");
  CHECK(parsed->Find("fin_total", {{"reason", "stop"}, {"qos_class", "a\"b\\c\nd"}}) == 3);
  CHECK(parsed->Find("fin_total{reason=\"stop\",qos_class=\"a\\\"b\\\\c\\nd\"}") == 3);
  CHECK(parsed->Find("lat_bucket{le=\"+Inf\"}") == 2);
  CHECK(parsed->Find("lat_sum") == 0.75);
  CHECK(parsed->Find("g{a=\"x\"}") == -INFINITY);
  CHECK(std::isnan(*parsed->Find("n")));
  CHECK_FALSE(parsed->Find("missing").has_value());
  CHECK(parsed->samples.size() == 7);
}

TEST_CASE("SampleKey escapes values and keeps label order", "[cpu]") {
  CHECK(SampleKey("x") == "x");
  CHECK(SampleKey("x", {{"b", "1"}, {"a", "q\"\n\\"}}) == "x{b=\"1\",a=\"q\\\"\\n\\\\\"}");
}

TEST_CASE("parser refuses malformed exposition", "[cpu]") {
  const char* const kBad[] = {
      "x 1\n",                                      // no TYPE
      "# TYPE x counter\nx 1",                      // no final newline
      "# TYPE x counter\nx one\n",                  // bad value
      "# TYPE x counter\nx 1 2 3\n",                // trailing text
      "# TYPE x counter\nx{a=\"1\"\n",              // unclosed labels
      "# TYPE x counter\nx{a=1} 1\n",               // unquoted value
      "# TYPE x counter\nx{a=\"\\t\"} 1\n",         // bad escape
      "# TYPE x counter\nx{a=\"1\",a=\"2\"} 1\n",   // repeated label
      "# TYPE x counter\nx 1\nx 2\n",               // repeated sample
      "# TYPE x counter\n# TYPE x gauge\n",         // repeated TYPE
      "# TYPE x counter\nx 1\n# TYPE x counter\n",  // TYPE after samples
      "# TYPE x widget\n",                          // unknown type
      "# HELP x a\n# HELP x b\n",                   // repeated HELP
      "# HELP x bad \\t escape\n",                  // bad HELP escape
      "# TYPE h histogram\nh_bucket 1\n",           // bucket without le
      "# TYPE 1x counter\n",                        // bad name
  };
  for (const char* text : kBad) {
    INFO(text);
    CHECK_FALSE(ParsePrometheusText(text).ok());
  }
  const Status status = ParsePrometheusText("# TYPE x counter\nx 1\nx 2\n").status();
  CHECK(status.message().find("line 3") != std::string::npos);
}

}  // namespace
}  // namespace specd::metrics_test
