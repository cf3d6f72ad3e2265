// CUDA graphs in the CUDA runner: decode and verify steps replayed from captured graphs give the
// logits of the same steps launched eagerly, bit for bit, over batch sizes that pad to several
// token buckets, contexts that cross block-table stride buckets, and steps that replay one graph
// with new inputs. The same steps with fused decode layers (up to 8 tokens: norms, residual adds
// and SiLU in the skinny products) give the separate kernels' logits bit for bit.
#include <filesystem>
#include <random>

#include <catch2/catch.hpp>

#include "engine/runner/cuda/cuda_runner.h"
#include "tools/random_model.h"

namespace specd {
namespace {

constexpr int64_t kBlockSize = 16;

std::string GraphTestModel() {
  RandomModelOptions o;
  o.vocab_size = 512;
  o.hidden_size = 256;
  o.intermediate_size = 512;
  o.num_layers = 2;
  o.num_heads = 8;
  o.num_kv_heads = 2;  // GQA 4
  o.head_dim = 128;
  o.max_position_embeddings = 1024;
  o.dtype = DType::kBF16;
  o.seed = 21;
  const auto dir = std::filesystem::temp_directory_path() / "specd_gpu_graphs";
  std::filesystem::remove_all(dir);
  REQUIRE(WriteRandomModel(o, dir.string()).ok());
  return dir.string();
}

std::unique_ptr<CudaRunner> MakeRunner(const std::string& dir, bool cuda_graphs, bool fused_decode_layers = true) {
  auto runner = CudaRunner::Create(dir, {.block_size = kBlockSize, .num_blocks = 512, .max_num_tokens = 256,
                                         .cuda_graphs = cuda_graphs, .fused_decode_layers = fused_decode_layers});
  REQUIRE(runner.status().ToString() == "OK");
  return std::move(runner).value();
}

// A sequence's tokens so far and its blocks (disjoint between sequences).
struct Sequence {
  std::vector<int32_t> tokens;
  std::vector<int32_t> blocks;
  size_t computed = 0;
};

// The next `count` tokens of each chosen sequence (all with logits), growing its block table.
SchedulerOutput Step(std::vector<Sequence>& sequences, const std::vector<size_t>& chosen, size_t count,
                     std::mt19937& rng) {
  std::uniform_int_distribution<int32_t> token(3, 511);
  SchedulerOutput batch;
  for (size_t s : chosen) {
    Sequence& seq = sequences[s];
    while (seq.tokens.size() < seq.computed + count) seq.tokens.push_back(token(rng));
    while (static_cast<int64_t>(seq.blocks.size()) * kBlockSize < static_cast<int64_t>(seq.computed + count)) {
      seq.blocks.push_back(static_cast<int32_t>(s * 32 + seq.blocks.size()));
    }
    ScheduledSequence scheduled;
    scheduled.token_ids = std::span<const int32_t>(seq.tokens).subspan(seq.computed, count);
    scheduled.start_position = static_cast<int64_t>(seq.computed);
    scheduled.block_table = seq.blocks;
    for (size_t i = 0; i < count; ++i) scheduled.logits_indices.push_back(static_cast<int32_t>(i));
    batch.sequences.push_back(scheduled);
    seq.computed += count;
  }
  return batch;
}

// Prompts, then decode and verify steps of several shapes on both runners: their logits must
// be the same bits.
void CheckSameLogits(CudaRunner& want_runner, CudaRunner& got_runner) {
  std::vector<Sequence> sequences(8);
  std::mt19937 rng(5);
  const auto run_both = [&](const std::vector<size_t>& chosen, size_t count) {
    const SchedulerOutput batch = Step(sequences, chosen, count, rng);
    const auto want = want_runner.Execute(batch);
    const auto got = got_runner.Execute(batch);
    REQUIRE(want.status().ToString() == "OK");
    REQUIRE(got.status().ToString() == "OK");
    CAPTURE(chosen.size(), count, sequences[chosen[0]].computed);
    REQUIRE(got->logits.size() == want->logits.size());
    CHECK(got->logits == want->logits);
  };
  // Prompts of different lengths (eager in both runners: prompt chunks).
  for (size_t s = 0; s < sequences.size(); ++s) run_both({s}, 20 + 7 * s);
  // Decode steps at batch sizes padding to buckets 1, 4, 8 and 8, each shape replayed several
  // times with new tokens and positions; the longest contexts cross stride buckets 4 -> 8.
  const std::vector<std::vector<size_t>> batches = {{0}, {1, 2, 3}, {0, 2, 4, 6, 7}, {0, 1, 2, 3, 4, 5, 6, 7}};
  for (int round = 0; round < 3; ++round) {
    for (const auto& chosen : batches) run_both(chosen, 1);
  }
  // Verify-shaped steps: k + 1 = 4 and 6 tokens per sequence.
  for (int round = 0; round < 2; ++round) {
    run_both({3}, 4);
    run_both({1, 5}, 4);
    run_both({0, 2, 4, 6}, 6);
  }
  for (int round = 0; round < 12; ++round) run_both({7}, 5);  // sequence 7 from 69 to 129 tokens: strides 8 and 16
}

}  // namespace

TEST_CASE("CUDA graphs: replayed decode and verify steps give the eager steps' logits bit for bit", "[gpu]") {
  const std::string dir = GraphTestModel();
  const auto eager = MakeRunner(dir, false), graphs = MakeRunner(dir, true);
  CheckSameLogits(*eager, *graphs);
  CHECK(eager->num_cuda_graphs() == 0);
  CHECK(graphs->num_cuda_graphs() >= 5);  // (1, 2), (4, 4), (8, 4), (8, 8), (32, 8), (8, 16)
}

TEST_CASE("fused decode layers give the separate kernels' logits bit for bit", "[gpu]") {
  const std::string dir = GraphTestModel();
  const auto separate = MakeRunner(dir, true, false), fused = MakeRunner(dir, true, true);
  CheckSameLogits(*separate, *fused);
}

}  // namespace specd
