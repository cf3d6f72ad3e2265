// The harness's expectations files and its list / run commands, with fake pairs: exit codes,
// the table, the JSON report, and --update-expectations.
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "bench/harness/expectations.h"
#include "bench/harness/harness_command.h"
#include "engine/base/json_fields.h"
#include "tests/test_paths.h"

namespace specd::bench {
namespace {

constexpr char kDevice[] = "NVIDIA H100 80GB HBM3";

// Baseline iterations take baseline_ms, optimized ones optimized_ms; tokens as given.
class FakePair : public BenchmarkPair {
 public:
  FakePair(double baseline_ms, double optimized_ms, std::vector<int32_t> optimized_tokens)
      : baseline_ms_(baseline_ms), optimized_ms_(optimized_ms), optimized_tokens_(std::move(optimized_tokens)) {}
  OutputRule output_rule() const override { return {.kind = OutputRule::Kind::kTokensExact}; }
  StatusOr<VariantRun> Run(Variant variant, const RunSettings& settings) override {
    const bool baseline = variant == Variant::kBaseline;
    VariantRun run;
    run.samples_ms.assign(static_cast<size_t>(settings.repeats), baseline ? baseline_ms_ : optimized_ms_);
    run.outputs.token_ids = baseline ? std::vector<int32_t>{1, 2, 3} : optimized_tokens_;
    run.tokens_per_iteration = 3;
    return run;
  }

 private:
  double baseline_ms_, optimized_ms_;
  std::vector<int32_t> optimized_tokens_;
};

PairEntry Entry(const std::string& name, double baseline_ms, double optimized_ms,
                std::vector<int32_t> optimized_tokens = {1, 2, 3}) {
  return {name, "a fake pair", false,
          [=] { return std::make_unique<FakePair>(baseline_ms, optimized_ms, optimized_tokens); }, ""};
}

HarnessEnvironment Environment(std::vector<PairEntry> pairs) {
  return {std::move(pairs), kDevice, false, "abc1234", "2025-01-01T00:00:00Z"};
}

struct Outcome {
  int code;
  std::string out, err;
};

Outcome Run(const HarnessEnvironment& environment, const std::vector<std::string>& args) {
  std::ostringstream out, err;
  const int code = RunPairs(environment, args, out, err);
  return {code, out.str(), err.str()};
}

void WriteFile(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

}  // namespace

TEST_CASE("expectations: a missing file is empty; a written one reads back", "[cpu]") {
  const std::string path = testing::MakeScratchDir("expectations") + "/expectations_h100_80gb_hbm3.json";
  auto empty = Expectations::Load(path, "h100_80gb_hbm3", kDevice);
  REQUIRE(empty.ok());
  CHECK(empty->size() == 0);
  ExpectedFigures figures;
  figures.baseline_ms = 4;
  figures.optimized_ms = 2;
  figures.speedup = 2;
  figures.memory_bytes = {100, std::nullopt};
  figures.tokens_per_s = {std::nullopt, 50.5};
  figures.commit = "abc1234";
  figures.date = "2025-01-01T00:00:00Z";
  empty->Set("cudagraph_bucketing", figures);
  REQUIRE(empty->Save(path).ok());
  const auto loaded = Expectations::Load(path, "h100_80gb_hbm3", kDevice);
  REQUIRE(loaded.ok());
  const ExpectedFigures* back = loaded->Find("cudagraph_bucketing");
  REQUIRE(back != nullptr);
  CHECK(back->speedup == 2);
  CHECK(*back->memory_bytes.baseline == 100);
  CHECK_FALSE(back->memory_bytes.optimized.has_value());
  CHECK(*back->tokens_per_s.optimized == 50.5);
  CHECK(back->commit == "abc1234");
  CHECK(loaded->ToJson() == empty->ToJson());
}

TEST_CASE("expectations: bad files are refused naming the problem", "[cpu]") {
  const std::string dir = testing::MakeScratchDir("bad_expectations");
  const auto load = [&](const std::string& text) {
    WriteFile(dir + "/e.json", text);
    return Expectations::Load(dir + "/e.json", "h100_80gb_hbm3", kDevice).status().message();
  };
  CHECK(load(R"({"schema_version": 2, "hardware_key": "h100_80gb_hbm3"})") ==
        dir + "/e.json: 'schema_version' 2 is not the supported version 1");
  CHECK(load(R"({"schema_version": 1, "hardware_key": "h200"})") ==
        dir + "/e.json holds expectations for 'h200', and this machine is 'h100_80gb_hbm3' (" + kDevice + ")");
  CHECK(load(R"({"schema_version": 1, "hardware_key": "h100_80gb_hbm3", "pairs": {"x": {"speedup": 2}}})") ==
        dir + "/e.json: 'pairs': 'x': 'baseline_ms' is missing");
  CHECK(load(R"({"schema_version": 1, "hardware_key": "h100_80gb_hbm3", "pairz": {}})").find("pairz") !=
        std::string::npos);
  CHECK(load("{").find("malformed") != std::string::npos);
}

TEST_CASE("list: every pair with its needs and description", "[cpu]") {
  HarnessEnvironment environment = Environment({Entry("fast", 2, 1)});
  environment.pairs.push_back({"later", "needs a kernel", true, nullptr, "needs issue 9"});
  std::ostringstream out;
  CHECK(ListPairs(environment, out) == 0);
  CHECK(out.str() == "fast                any  a fake pair\n"
                     "later               gpu  needs a kernel [unavailable: needs issue 9]\n");
}

TEST_CASE("run: new pairs pass; --update-expectations stores them; a slower run then fails", "[cpu]") {
  const std::string dir = testing::MakeScratchDir("harness_run");
  const std::string expectations = dir + "/expectations.json", report = dir + "/report.json";
  const std::vector<std::string> base = {"--targets", "all", "--repeats", "3", "--expectations", expectations};

  const Outcome first = Run(Environment({Entry("fast", 4, 1)}), base);
  CHECK(first.code == 0);
  CHECK(first.out.find("4.00x") != std::string::npos);
  CHECK(first.out.find(" new\n") != std::string::npos);

  std::vector<std::string> update = base;
  update.insert(update.end(), {"--update-expectations", "--out", report});
  REQUIRE(Run(Environment({Entry("fast", 4, 1)}), update).code == 0);
  const auto stored = Expectations::Load(expectations, "h100_80gb_hbm3", kDevice);
  REQUIRE(stored.ok());
  REQUIRE(stored->Find("fast") != nullptr);
  CHECK(stored->Find("fast")->speedup == 4);
  CHECK(stored->Find("fast")->commit == "abc1234");
  CHECK(*stored->Find("fast")->tokens_per_s.optimized == Approx(3000.0));
  const auto json = ReadJsonObjectFile(report);
  REQUIRE(json.ok());
  CHECK((*json)["pairs"][0]["status"] == "updated");
  CHECK((*json)["pairs"][0]["outputs_match"] == true);
  CHECK((*json)["hardware_key"] == "h100_80gb_hbm3");

  CHECK(Run(Environment({Entry("fast", 3, 1)}), base).code == 0);  // 3 >= 0.75 x 4
  const Outcome slower = Run(Environment({Entry("fast", 2.9, 1)}), base);
  CHECK(slower.code == 1);
  CHECK(slower.out.find("slower") != std::string::npos);
}

TEST_CASE("run: differing outputs fail; GPU pairs skip without a GPU; unavailable pairs skip", "[cpu]") {
  const std::string expectations = testing::MakeScratchDir("harness_mismatch") + "/e.json";
  HarnessEnvironment environment = Environment({Entry("wrong", 2, 1, {1, 2, 4})});
  const Outcome mismatch = Run(environment, {"--targets", "wrong", "--repeats", "1", "--expectations", expectations});
  CHECK(mismatch.code == 1);
  CHECK(mismatch.out.find("first difference at index 2 (3 vs 4)") != std::string::npos);

  PairEntry gpu = Entry("gpu_pair", 2, 1);
  gpu.needs_gpu = true;
  environment.pairs = {gpu, {"later", "needs a kernel", true, nullptr, "needs issue 9"}};
  const Outcome skipped = Run(environment, {"--targets", "all", "--expectations", expectations});
  CHECK(skipped.code == 0);
  CHECK(skipped.out.find("gpu_pair: skipped: needs a GPU, and this machine has none") != std::string::npos);
  CHECK(skipped.out.find("later: skipped: needs issue 9") != std::string::npos);
}

TEST_CASE("run: bad flags and unknown targets exit 2 naming the problem", "[cpu]") {
  const HarnessEnvironment environment = Environment({Entry("fast", 2, 1), Entry("slow", 2, 1)});
  const Outcome unknown = Run(environment, {"--targets", "fast,nope"});
  CHECK(unknown.code == 2);
  CHECK(unknown.err.find("unknown pair 'nope' (pairs: fast, slow, or all)") != std::string::npos);
  CHECK(Run(environment, {}).err.find("--targets is required") != std::string::npos);
  CHECK(Run(environment, {"--targets", "fast,fast"}).code == 2);
  CHECK(Run(environment, {"--targets", "fast", "--repeats", "0"}).code == 2);
  CHECK(Run(environment, {"--targets", "fast", "--bogus"}).code == 2);
}

}  // namespace specd::bench
