#include "bench/harness/harness_report.h"

#include <cstdio>
#include <string>

namespace specd::bench {
namespace {

using Json = nlohmann::json;

constexpr char kRowFormat[] = "%-20s %21s %21s %8s %-9s %9s  %s\n";
constexpr int kFieldBytes = 64;

std::string Times(const std::optional<VariantSummary>& summary) {
  if (!summary.has_value()) return "-";
  char text[kFieldBytes];
  std::snprintf(text, sizeof(text), "%9.3f / %9.3f", summary->p50_ms, summary->p75_ms);
  return text;
}

std::string Speedup(double speedup) {
  char text[kFieldBytes];
  std::snprintf(text, sizeof(text), "%.2fx", speedup);
  return text;
}

std::string Outputs(const ReportRow& row) {
  if (!row.result.ran()) return "-";
  return row.result.outputs.match ? "match" : "DIFFER";
}

template <typename T>
Json OptionalJson(const std::optional<T>& value) {
  return value.has_value() ? Json(*value) : Json(nullptr);
}

Json VariantJson(const std::optional<VariantSummary>& summary) {
  if (!summary.has_value()) return nullptr;
  return {{"iterations", summary->count}, {"p50_ms", summary->p50_ms}, {"p75_ms", summary->p75_ms},
          {"memory_bytes", OptionalJson(summary->memory_bytes)}, {"tokens_per_s", OptionalJson(summary->tokens_per_s)}};
}

Json RowJson(const ReportRow& row) {
  const PairResult& r = row.result;
  return {{"name", r.name}, {"status", row.verdict.name()}, {"detail", row.verdict.detail},
          {"baseline", VariantJson(r.baseline)}, {"optimized", VariantJson(r.optimized)},
          {"speedup", r.ran() ? Json(r.speedup()) : Json(nullptr)},
          {"outputs_match", r.ran() ? Json(r.outputs.match) : Json(nullptr)},
          {"output_rule", row.output_rule}, {"output_detail", r.outputs.detail},
          {"expected_speedup", OptionalJson(row.expected_speedup)}};
}

}  // namespace

std::string ReportTable(const std::vector<ReportRow>& rows) {
  std::string table;
  char line[512];
  std::snprintf(line, sizeof(line), kRowFormat, "pair", "baseline p50/p75 ms", "optimized p50/p75 ms", "speedup",
                "outputs", "expected", "status");
  table += line;
  for (const ReportRow& row : rows) {
    const std::string speedup = row.result.ran() ? Speedup(row.result.speedup()) : "-";
    const std::string expected = row.expected_speedup ? Speedup(*row.expected_speedup) : "-";
    std::snprintf(line, sizeof(line), kRowFormat, row.result.name.c_str(), Times(row.result.baseline).c_str(),
                  Times(row.result.optimized).c_str(), speedup.c_str(), Outputs(row).c_str(), expected.c_str(),
                  row.verdict.name());
    table += line;
  }
  for (const ReportRow& row : rows) {
    table += "  " + row.result.name + ": " + row.verdict.name();
    if (!row.output_rule.empty()) table += " (" + row.output_rule + ")";
    table += ": " + row.verdict.detail + "\n";
  }
  return table;
}

Json ReportJson(const RunContext& context, const std::vector<ReportRow>& rows) {
  Json pairs = Json::array();
  for (const ReportRow& row : rows) pairs.push_back(RowJson(row));
  return {{"benchmark", "harness"}, {"device", context.device}, {"hardware_key", context.hardware_key},
          {"commit", context.commit}, {"date", context.date}, {"repeats", context.settings.repeats},
          {"quick", context.settings.quick}, {"min_speedup_fraction", kMinSpeedupFraction}, {"pairs", pairs}};
}

}  // namespace specd::bench
