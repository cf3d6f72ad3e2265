// Prometheus text exposition format 0.0.4: name rules, escaping and number formatting shared by
// every metric type. Pure functions; any thread.
//
//   # HELP <name> <help, with \ and newline escaped>
//   # TYPE <name> counter|gauge|histogram
//   <name>{<label>="<value, with \ " and newline escaped>",...} <value>
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace specd::metrics {

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool IsValidMetricName(std::string_view name);
// [a-zA-Z_][a-zA-Z0-9_]*, and not starting with "__" (reserved by Prometheus).
bool IsValidLabelName(std::string_view name);

// CHECK-fails (a programming error) on a bad metric name, a bad or repeated label name, or the
// label name `reserved` (e.g. "le" for histograms; empty for none).
void CheckFamilyNames(std::string_view name, const std::vector<std::string>& label_names,
                      std::string_view reserved);

// HELP text: `\` -> `\\`, newline -> `\n`.
std::string EscapeHelp(std::string_view help);
// Label values: `\` -> `\\`, `"` -> `\"`, newline -> `\n`.
std::string EscapeLabelValue(std::string_view value);

// "+Inf", "-Inf", "NaN"; integral values below 2^53 without exponent or point ("42");
// anything else in the shortest form that reads back to the same double ("0.005", "1e+20").
std::string FormatValue(double value);

// `a="x",b="y"` for parallel lists of names and (unescaped) values. Precondition: same size.
std::string FormatLabels(const std::vector<std::string>& names,
                         const std::vector<std::string>& values);

// Appends "# HELP ...\n# TYPE ...\n".
void AppendFamilyHeader(std::string_view name, std::string_view help, std::string_view type,
                        std::string* out);
// Appends "name value\n" or "name{labels} value\n" (`labels` already formatted, may be empty).
void AppendSample(std::string_view name, std::string_view labels, double value, std::string* out);

}  // namespace specd::metrics
