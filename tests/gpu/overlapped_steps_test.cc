// Overlapped steps on the CUDA runner (model_runner.h): decode steps launched before the one
// before them is collected, their tokens fed on the device from that step's sampling (or from its
// output on the host where it was sampled there), give the synchronous steps' tokens bit for bit,
// with and without CUDA graphs.
#include <filesystem>

#include <catch2/catch.hpp>

#include "engine/runner/cuda/cuda_runner.h"
#include "tests/decode_driver.h"
#include "tests/engine_fixtures.h"
#include "tools/random_model.h"

namespace specd {
namespace {

using testing::DecodeDriver;
using testing::DecodeSequence;

constexpr int kDecodeSteps = 20;

std::string Model() {
  static const std::string dir = [] {
    RandomModelOptions o;
    o.vocab_size = 512;
    o.hidden_size = 256;
    o.intermediate_size = 512;
    o.num_layers = 2;
    o.num_heads = 4;
    o.num_kv_heads = 1;
    o.max_position_embeddings = 512;
    o.dtype = DType::kBF16;
    o.seed = 23;
    const auto path = std::filesystem::temp_directory_path() / "specd_gpu_overlapped_steps";
    std::filesystem::remove_all(path);
    REQUIRE(WriteRandomModel(o, path.string()).ok());
    return path.string();
  }();
  return dir;
}

std::unique_ptr<CudaRunner> MakeRunner(bool cuda_graphs) {
  auto runner = CudaRunner::Create(Model(), {.block_size = 16, .num_blocks = 64, .cuda_graphs = cuda_graphs});
  REQUIRE(runner.status().ToString() == "OK");
  return std::move(runner).value();
}

// Sequence s: a prompt of 5 + 7 s tokens in blocks [4 s, 4 s + 4); sampled as `sampling(s)` says.
std::vector<DecodeSequence> Sequences(int count, const std::function<SamplingParams(int)>& sampling) {
  std::vector<DecodeSequence> sequences;
  for (int s = 0; s < count; ++s) {
    DecodeSequence seq;
    for (int i = 0; i < 5 + 7 * s; ++i) seq.prompt.push_back((37 * i + 11 * s + 3) % 512);
    for (int b = 0; b < 4; ++b) seq.block_table.push_back(4 * s + b);
    seq.sampling = sampling(s);
    seq.seed = 77 + static_cast<uint64_t>(s);
    sequences.push_back(seq);
  }
  return sequences;
}

SamplingParams Greedy() { return testing::Greedy(kDecodeSteps + 1); }

SamplingParams Drawn(float top_p) {
  SamplingParams params = Greedy();
  params.temperature = 1.0f;
  params.top_p = top_p;
  return params;
}

void CheckSameTokens(const std::vector<DecodeSequence>& sequences, bool cuda_graphs) {
  const DecodeDriver driver(sequences);
  const auto synchronous = driver.RunSynchronous(*MakeRunner(cuda_graphs), kDecodeSteps);
  const auto overlapped = driver.RunOverlapped(*MakeRunner(cuda_graphs), kDecodeSteps);
  REQUIRE(synchronous.status().ToString() == "OK");
  REQUIRE(overlapped.status().ToString() == "OK");
  REQUIRE((*synchronous)[0].size() == kDecodeSteps + 1);
  CHECK(*overlapped == *synchronous);
}

}  // namespace

TEST_CASE("Overlapped CUDA steps, tokens fed on the device, match synchronous steps", "[gpu]") {
  const bool cuda_graphs = GENERATE(true, false);
  CAPTURE(cuda_graphs);
  SECTION("one greedy sequence") { CheckSameTokens(Sequences(1, [](int) { return Greedy(); }), cuda_graphs); }
  SECTION("greedy and seeded draws, top-p") {
    CheckSameTokens(Sequences(3, [](int s) { return s == 1 ? Drawn(0.9f) : s == 2 ? Drawn(1.0f) : Greedy(); }),
                    cuda_graphs);
  }
}

TEST_CASE("Overlapped CUDA steps sampled on the host feed their tokens from the host", "[gpu]") {
  // top_logprobs keeps a batch's sampling on the host (GpuSampler::Supports).
  CheckSameTokens(Sequences(2, [](int s) {
                    SamplingParams params = Greedy();
                    if (s == 1) params.top_logprobs = 3;
                    return params;
                  }),
                  true);
}

TEST_CASE("CUDA runner refuses a feed from a sequence that verified drafts", "[gpu]") {
  const auto runner = MakeRunner(true);
  SamplingParams greedy = Greedy();
  const std::vector<int32_t> tokens = {4, 5, 6}, one = {0}, table = {0};
  ScheduledSequence verify;
  verify.token_ids = tokens;
  verify.block_table = table;
  verify.logits_indices = {1, 2};
  verify.num_draft_tokens = 1;
  verify.sampling = SamplingRow{.logits = {}, .params = &greedy, .seed = 0, .prompt_token_ids = {},
                                .output_token_ids = {}, .eos_token_ids = {}};
  REQUIRE(runner->Launch(SchedulerOutput{{verify}}).ok());
  ScheduledSequence fed = verify;
  fed.token_ids = one;
  fed.start_position = 3;
  fed.logits_indices = {0};
  fed.num_draft_tokens = 0;
  fed.fed_from_sequence = 0;
  const Status refused = runner->Launch(SchedulerOutput{{fed}});
  CHECK(refused.code() == StatusCode::kInvalidArgument);
  CHECK_THAT(refused.message(), Catch::Contains("did not sample one token"));
  REQUIRE(runner->Collect().ok());
}

}  // namespace specd
