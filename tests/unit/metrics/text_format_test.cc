// Text format helpers: the name rules, HELP and label value escaping, number formatting.
#include "server/metrics/text_format.h"

#include <cmath>
#include <limits>

#include <catch2/catch.hpp>

namespace specd::metrics {
namespace {

TEST_CASE("metric names follow [a-zA-Z_:][a-zA-Z0-9_:]*", "[cpu]") {
  CHECK(IsValidMetricName("specd_prompt_tokens_total"));
  CHECK(IsValidMetricName("_x"));
  CHECK(IsValidMetricName(":recording:rule"));
  CHECK(IsValidMetricName("a1_B2:c3"));
  CHECK_FALSE(IsValidMetricName(""));
  CHECK_FALSE(IsValidMetricName("1abc"));
  CHECK_FALSE(IsValidMetricName("with-dash"));
  CHECK_FALSE(IsValidMetricName("with space"));
  CHECK_FALSE(IsValidMetricName("dotted.name"));
  CHECK_FALSE(IsValidMetricName("caf\xc3\xa9"));
}

TEST_CASE("label names follow [a-zA-Z_][a-zA-Z0-9_]* and __ is reserved", "[cpu]") {
  CHECK(IsValidLabelName("reason"));
  CHECK(IsValidLabelName("qos_class"));
  CHECK(IsValidLabelName("_private"));
  CHECK(IsValidLabelName("le"));
  CHECK_FALSE(IsValidLabelName(""));
  CHECK_FALSE(IsValidLabelName("__name__"));
  CHECK_FALSE(IsValidLabelName("a:b"));
  CHECK_FALSE(IsValidLabelName("9lives"));
}

TEST_CASE("HELP escapes backslash and newline only", "[cpu]") {
  CHECK(EscapeHelp("plain") == "plain");
  CHECK(EscapeHelp("a\\b\nc \"q\"") == "a\\\\b\\nc \"q\"");
}

TEST_CASE("label values escape backslash, double quote and newline", "[cpu]") {
  CHECK(EscapeLabelValue("stop") == "stop");
  CHECK(EscapeLabelValue("a\\b\"c\"\nd") == "a\\\\b\\\"c\\\"\\nd");
  CHECK(EscapeLabelValue("tab\tstays") == "tab\tstays");
}

TEST_CASE("values: integers plainly, fractions shortest, special values spelled out", "[cpu]") {
  CHECK(FormatValue(0) == "0");
  CHECK(FormatValue(-0.0) == "0");
  CHECK(FormatValue(42) == "42");
  CHECK(FormatValue(-7) == "-7");
  CHECK(FormatValue(1e15) == "1000000000000000");
  CHECK(FormatValue(0.001) == "0.001");
  CHECK(FormatValue(0.0025) == "0.0025");
  CHECK(FormatValue(2.5) == "2.5");
  CHECK(FormatValue(0.1 + 0.2) == "0.30000000000000004");
  CHECK(FormatValue(1e20) == "1e+20");
  CHECK(FormatValue(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(FormatValue(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(FormatValue(std::nan("")) == "NaN");
}

TEST_CASE("labels format as name=\"escaped value\" pairs in the given order", "[cpu]") {
  CHECK(FormatLabels({}, {}) == "");
  CHECK(FormatLabels({"reason", "qos_class"}, {"stop", "a\"b"}) ==
        "reason=\"stop\",qos_class=\"a\\\"b\"");
}

TEST_CASE("samples and family headers", "[cpu]") {
  std::string out;
  AppendFamilyHeader("x_total", "Line one\nline two \\ end.", "counter", &out);
  AppendSample("x_total", "", 3, &out);
  AppendSample("x_total", "a=\"b\"", 0.5, &out);
  CHECK(out ==
        "# HELP x_total Line one\\nline two \\\\ end.\n"
        "# TYPE x_total counter\n"
        "x_total 3\n"
        "x_total{a=\"b\"} 0.5\n");
}

}  // namespace
}  // namespace specd::metrics
