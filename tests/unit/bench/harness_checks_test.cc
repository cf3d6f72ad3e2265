// The harness's pure pieces: hardware keys from device names, the output rules, and the verdict
// with its 0.75 rule.
#include <catch2/catch.hpp>

#include "bench/harness/hardware_key.h"
#include "bench/harness/output_check.h"
#include "bench/harness/pair_verdict.h"

namespace specd::bench {
namespace {

PairResult Ran(double baseline_ms, double optimized_ms, bool match) {
  PairResult result;
  result.name = "pair";
  result.baseline = VariantSummary{.count = 3, .p50_ms = baseline_ms, .p75_ms = baseline_ms};
  result.optimized = VariantSummary{.count = 3, .p50_ms = optimized_ms, .p75_ms = optimized_ms};
  result.outputs = {match, match ? "3 tokens identical" : "first difference at index 1 (4 vs 5)"};
  return result;
}

ExpectedFigures Stored(double speedup) {
  ExpectedFigures figures;
  figures.baseline_ms = speedup;
  figures.optimized_ms = 1;
  figures.speedup = speedup;
  return figures;
}

}  // namespace

TEST_CASE("hardware key: device names to file keys", "[cpu]") {
  CHECK(HardwareKey("NVIDIA H100 80GB HBM3") == "h100_80gb_hbm3");
  CHECK(HardwareKey("NVIDIA H200") == "h200");
  CHECK(HardwareKey("AMD EPYC 7B13 64-Core Processor") == "amd_epyc_7b13_64_core_processor");
  CHECK(HardwareKey("  Intel(R) Xeon(R)  ") == "intel_r_xeon_r");
  CHECK(HardwareKey("--") == "unknown");
}

TEST_CASE("output check: token-exact pairs name the first difference", "[cpu]") {
  const OutputRule rule{.kind = OutputRule::Kind::kTokensExact};
  PairOutputs a, b;
  a.token_ids = {1, 2, 3};
  b.token_ids = {1, 2, 3};
  CHECK(CheckOutputs(rule, a, b).match);
  CHECK(CheckOutputs(rule, a, b).detail == "3 tokens identical");
  b.token_ids = {1, 9, 3};
  CHECK_FALSE(CheckOutputs(rule, a, b).match);
  CHECK(CheckOutputs(rule, a, b).detail == "first difference at index 1 (2 vs 9)");
  b.token_ids = {1, 2};
  CHECK(CheckOutputs(rule, a, b).detail == "3 tokens against 2; first difference at index 2");
  CHECK_FALSE(CheckOutputs(rule, PairOutputs{}, PairOutputs{}).match);  // nothing to compare
}

TEST_CASE("output check: bit-exact pairs compare float bits", "[cpu]") {
  const OutputRule rule{.kind = OutputRule::Kind::kBitExact};
  PairOutputs a, b;
  a.values = {1.0f, -0.0f};
  b.values = {1.0f, -0.0f};
  CHECK(CheckOutputs(rule, a, b).match);
  b.values = {1.0f, 0.0f};  // equal as numbers, not as bits
  CHECK_FALSE(CheckOutputs(rule, a, b).match);
}

TEST_CASE("output check: tolerance pairs judge the optimized error against the reference", "[cpu]") {
  const OutputRule rule{.kind = OutputRule::Kind::kWithinTolerance, .relative_tolerance = 0.01};
  PairOutputs baseline, optimized;
  baseline.reference = optimized.reference = {2.0, -4.0};
  baseline.values = {2.0f, -4.0f};
  optimized.values = {2.03f, -4.0f};  // 0.03 / 4 = 0.0075
  CHECK(CheckOutputs(rule, baseline, optimized).match);
  optimized.values = {2.05f, -4.0f};  // 0.0125
  CHECK_FALSE(CheckOutputs(rule, baseline, optimized).match);
  optimized.values = {NAN, -4.0f};
  CHECK_FALSE(CheckOutputs(rule, baseline, optimized).match);
  optimized.values = {2.0f};  // a sample of another size
  CHECK_FALSE(CheckOutputs(rule, baseline, optimized).match);
  CHECK(rule.Describe() == "rel. error <= 0.01 vs fp64 reference");
}

TEST_CASE("verdict: the 0.75 rule against the stored speedup", "[cpu]") {
  const ExpectedFigures stored = Stored(2.0);
  CHECK(Judge(Ran(3.0, 2.0, true), &stored, false).status == PairStatus::kPass);   // 1.5 = 0.75 x 2
  const PairVerdict slower = Judge(Ran(2.9, 2.0, true), &stored, false);          // 1.45
  CHECK(slower.status == PairStatus::kSlower);
  CHECK(slower.failed());
  CHECK(slower.detail == "speedup 1.45 is below 0.75 x the stored 2 = 1.5");
  CHECK(Judge(Ran(8.0, 2.0, true), &stored, false).status == PairStatus::kPass);  // faster is fine
}

TEST_CASE("verdict: new, updated, mismatch, error and skipped", "[cpu]") {
  const ExpectedFigures stored = Stored(2.0);
  CHECK(Judge(Ran(2.0, 1.0, true), nullptr, false).status == PairStatus::kNew);
  CHECK(Judge(Ran(1.0, 1.0, true), &stored, true).status == PairStatus::kUpdated);
  const PairVerdict mismatch = Judge(Ran(4.0, 1.0, false), &stored, true);
  CHECK(mismatch.status == PairStatus::kMismatch);  // even when updating
  CHECK(mismatch.failed());
  PairResult failed;
  failed.error = "baseline: INTERNAL: boom";
  CHECK(Judge(failed, &stored, false).status == PairStatus::kError);
  PairResult skipped;
  skipped.skipped = "needs a GPU, and this machine has none";
  const PairVerdict skip = Judge(skipped, &stored, false);
  CHECK(skip.status == PairStatus::kSkipped);
  CHECK_FALSE(skip.failed());
  CHECK(std::string(skip.name()) == "skipped");
}

TEST_CASE("variant summary: p50 and p75 interpolated, tokens per second at p50", "[cpu]") {
  VariantRun run;
  run.samples_ms = {4.0, 1.0, 3.0, 2.0, 5.0};
  run.tokens_per_iteration = 30;
  const VariantSummary summary = VariantSummary::Of(run);
  CHECK(summary.count == 5);
  CHECK(summary.p50_ms == Approx(3.0));
  CHECK(summary.p75_ms == Approx(4.0));
  CHECK(*summary.tokens_per_s == Approx(10000.0));
  CHECK_FALSE(summary.memory_bytes.has_value());
}

}  // namespace specd::bench
