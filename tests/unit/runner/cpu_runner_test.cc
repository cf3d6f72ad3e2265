// The CPU runner's logits must not depend on how the work is cut: one prefill, token by token,
// uneven chunks, crossing block boundaries, alone or batched with other sequences.
#include <numeric>
#include <random>

#include <catch2/catch.hpp>

#include "engine/kv/freed_block.h"
#include "engine/runner/cpu_runner.h"
#include "tests/model_fixtures.h"

namespace specd {
namespace {

constexpr int64_t kBlockSize = 4;  // small, so sequences cross many block boundaries

std::unique_ptr<CpuRunner> MakeRunner(const std::string& dir) {
  auto runner = CpuRunner::Create(dir, {.block_size = kBlockSize, .num_blocks = 64});
  REQUIRE(runner.ok());
  return std::move(runner).value();
}

std::vector<int32_t> RandomTokens(size_t count, int64_t vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> pick(0, static_cast<int32_t>(vocab) - 1);
  std::vector<int32_t> tokens(count);
  for (auto& token : tokens) token = pick(rng);
  return tokens;
}

// One sequence being fed to a runner chunk by chunk; collects the logits of every position.
struct SequenceFeed {
  SequenceFeed(std::vector<int32_t> tokens_in, std::vector<int32_t> blocks, std::vector<size_t> chunks)
      : tokens(std::move(tokens_in)), block_table(std::move(blocks)), chunk_sizes(std::move(chunks)) {}

  std::vector<int32_t> tokens;
  std::vector<int32_t> block_table;
  std::vector<size_t> chunk_sizes;
  size_t next_chunk = 0;
  int64_t computed = 0;
  std::vector<float> logits;  // [tokens, vocab]

  bool done() const { return next_chunk == chunk_sizes.size(); }
  ScheduledSequence NextStep() const {
    ScheduledSequence seq;
    const size_t size = chunk_sizes[next_chunk];
    seq.token_ids = std::span<const int32_t>(tokens).subspan(static_cast<size_t>(computed), size);
    seq.start_position = computed;
    seq.block_table = block_table;
    seq.logits_indices.resize(size);
    std::iota(seq.logits_indices.begin(), seq.logits_indices.end(), 0);
    return seq;
  }
};

// One step: the next chunk of each unfinished feed. False when every feed is done.
bool Step(CpuRunner& runner, const std::vector<SequenceFeed*>& feeds) {
  SchedulerOutput batch;
  std::vector<SequenceFeed*> stepping;
  for (SequenceFeed* feed : feeds) {
    if (feed->done()) continue;
    batch.sequences.push_back(feed->NextStep());
    stepping.push_back(feed);
  }
  if (stepping.empty()) return false;
  const auto output = runner.Execute(batch);
  REQUIRE(output.ok());
  int64_t row = 0;
  for (SequenceFeed* feed : stepping) {
    const size_t size = feed->chunk_sizes[feed->next_chunk++];
    feed->logits.insert(feed->logits.end(), output->row(row),
                        output->row(row) + static_cast<int64_t>(size) * output->vocab_size);
    row += static_cast<int64_t>(size);
    feed->computed += static_cast<int64_t>(size);
  }
  return true;
}

// Runs the feeds together, one chunk of each unfinished feed per step.
void RunTogether(CpuRunner& runner, const std::vector<SequenceFeed*>& feeds) {
  while (Step(runner, feeds)) {
  }
}

std::vector<int32_t> Blocks(std::initializer_list<int32_t> ids) { return ids; }

RandomModelOptions ModelVariant(const std::string& name) {
  RandomModelOptions o = testing::TinyLlamaOptions();
  if (name == "llama_tied") o.tie_word_embeddings = true;
  if (name == "gqa_llama3") {
    o.num_heads = 8;
    o.num_kv_heads = 1;
    o.head_dim = 16;
    o.llama3_rope_scaling = true;
    o.attention_bias = true;
    o.dtype = DType::kBF16;
  }
  if (name == "qwen2") o.architecture = Architecture::kQwen2;
  if (name == "mistral_window") {
    o.architecture = Architecture::kMistral;
    o.sliding_window = 5;
    o.dtype = DType::kF16;
  }
  return o;
}

}  // namespace

TEST_CASE("CPU runner: logits do not depend on how the work is cut", "[cpu]") {
  const std::string variant = GENERATE("llama_tied", "gqa_llama3", "qwen2", "mistral_window");
  CAPTURE(variant);
  const std::string dir = testing::MakeRandomModel("cut_" + variant, ModelVariant(variant));
  const std::vector<int32_t> tokens = RandomTokens(23, 300, 5);

  SequenceFeed whole{tokens, Blocks({0, 1, 2, 3, 4, 5}), {23}};
  RunTogether(*MakeRunner(dir), {&whole});

  SequenceFeed one_by_one{tokens, Blocks({9, 3, 17, 0, 30, 12}), std::vector<size_t>(23, 1)};
  RunTogether(*MakeRunner(dir), {&one_by_one});
  CHECK(one_by_one.logits == whole.logits);

  SequenceFeed uneven{tokens, Blocks({5, 4, 3, 2, 1, 0}), {5, 1, 7, 3, 6, 1}};
  RunTogether(*MakeRunner(dir), {&uneven});
  CHECK(uneven.logits == whole.logits);

  // Batched with two other sequences (a long prefill and decoding tokens) in the same steps.
  auto runner = MakeRunner(dir);
  SequenceFeed batched{tokens, Blocks({20, 21, 7, 8, 40, 41}), {2, 9, 1, 1, 10}};
  SequenceFeed other_prefill{RandomTokens(30, 300, 6), Blocks({1, 2, 3, 4, 5, 6, 9, 10}), {30}};
  SequenceFeed other_decode{RandomTokens(6, 300, 7), Blocks({11, 12}), {1, 1, 1, 1, 1, 1}};
  RunTogether(*runner, {&other_prefill, &batched, &other_decode});
  CHECK(batched.logits == whole.logits);

  // The other sequences are unaffected by their neighbours too.
  SequenceFeed alone{other_prefill.tokens, Blocks({0, 1, 2, 3, 4, 5, 6, 7}), {30}};
  RunTogether(*MakeRunner(dir), {&alone});
  CHECK(alone.logits == other_prefill.logits);
}

TEST_CASE("CPU runner: a sliding-window model reads no block its window freed", "[cpu]") {
  constexpr int64_t kWindow = 5;  // ModelVariant("mistral_window")
  const std::string dir = testing::MakeRandomModel("cut_mistral_window", ModelVariant("mistral_window"));
  const std::vector<int32_t> tokens = RandomTokens(23, 300, 5);
  SequenceFeed whole{tokens, Blocks({0, 1, 2, 3, 4, 5}), {23}};
  RunTogether(*MakeRunner(dir), {&whole});

  // Decoding token by token (then a 3-token chunk), each step's table freed as
  // KvCacheManager::FreeOutsideWindow frees it: entries wholly before the first visible key.
  auto runner = MakeRunner(dir);
  std::vector<size_t> chunks(20, 1);
  chunks.push_back(3);
  SequenceFeed freed{tokens, Blocks({9, 3, 17, 0, 30, 12}), chunks};
  while (!freed.done()) {
    const int64_t first_visible = freed.computed - kWindow + 1;
    for (size_t i = 0; static_cast<int64_t>(i + 1) * kBlockSize <= first_visible; ++i) freed.block_table[i] = kFreedBlock;
    REQUIRE(Step(*runner, {&freed}));
  }
  // The last step (positions 20..22) sees keys from 16 on: entries 0..3 were freed.
  CHECK(freed.block_table == Blocks({kFreedBlock, kFreedBlock, kFreedBlock, kFreedBlock, 30, 12}));
  CHECK(freed.logits == whole.logits);

  // A freed entry the step still sees is refused.
  SequenceFeed early{tokens, Blocks({kFreedBlock, 1, 2, 3, 4, 5}), {23}};
  SchedulerOutput batch;
  batch.sequences.push_back(early.NextStep());
  const auto output = MakeRunner(dir)->Execute(batch);
  REQUIRE_FALSE(output.ok());
  CHECK(output.status().ToString() ==
        "INVALID_ARGUMENT: sequence 0: block id -1 is outside the cache of 64 blocks");
}

TEST_CASE("CPU runner: only the asked positions get logits, in order", "[cpu]") {
  const std::string dir = testing::MakeRandomModel("logit_rows", testing::TinyLlamaOptions());
  const auto tokens = RandomTokens(9, 300, 11);
  SequenceFeed all{tokens, Blocks({0, 1, 2}), {9}};
  RunTogether(*MakeRunner(dir), {&all});

  auto runner = MakeRunner(dir);
  testing::TestSequence seq{tokens, 0, Blocks({0, 1, 2}), {8, 2}};
  const auto output = runner->Execute(SchedulerOutput{{seq.view()}});
  REQUIRE(output.ok());
  REQUIRE(output->num_rows() == 2);
  const auto row = [&](int64_t position) {
    return std::vector<float>(all.logits.begin() + position * 300, all.logits.begin() + (position + 1) * 300);
  };
  CHECK(std::vector<float>(output->row(0), output->row(0) + 300) == row(8));
  CHECK(std::vector<float>(output->row(1), output->row(1) + 300) == row(2));
}

TEST_CASE("CPU runner: a batch that does not fit is refused, naming the problem", "[cpu]") {
  const std::string dir = testing::MakeRandomModel("bad_batch", testing::TinyLlamaOptions());
  auto runner = MakeRunner(dir);
  const auto error = [&](std::vector<int32_t> tokens, int64_t start, std::vector<int32_t> blocks,
                         std::vector<int32_t> logits_indices) {
    const testing::TestSequence first{{1}, 0, {0}, {0}};
    const testing::TestSequence seq{tokens, start, blocks, logits_indices};
    const auto output = runner->Execute(SchedulerOutput{{first.view(), seq.view()}});
    REQUIRE_FALSE(output.ok());
    return output.status().ToString();
  };
  CHECK(error({1, 300}, 0, {0}, {0}) ==
        "INVALID_ARGUMENT: sequence 1: token id 300 is outside the vocabulary of 300");
  CHECK(error({1, 2, 3, 4, 5}, 0, {0}, {0}) ==
        "INVALID_ARGUMENT: sequence 1: block table has 1 blocks but positions up to 5 need 2");
  CHECK(error({1}, 0, {64}, {0}) ==
        "INVALID_ARGUMENT: sequence 1: block id 64 is outside the cache of 64 blocks");
  CHECK(error({1}, 256, std::vector<int32_t>(65, 0), {0}) ==
        "INVALID_ARGUMENT: sequence 1: positions up to 257 exceed the context length 256");
  CHECK(error({1, 2}, 0, {0}, {2}) ==
        "INVALID_ARGUMENT: sequence 1: logits index 2 is outside the 2 new tokens");
  CHECK(error({}, 0, {0}, {}) == "INVALID_ARGUMENT: sequence 1: no tokens to compute");
}

TEST_CASE("CPU runner: a missing model is named", "[cpu]") {
  const auto runner = CpuRunner::Create("/nonexistent/model", {});
  CHECK(runner.status().ToString() == "NOT_FOUND: /nonexistent/model: model folder not found");
}

}  // namespace specd
