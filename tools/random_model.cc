#include "tools/random_model.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <string_view>
#include <thread>

#include <nlohmann/json.hpp>

#include "engine/model/model_weights.h"
#include "engine/model/safetensors_writer.h"
#include "engine/tokenizer/byte_level_alphabet.h"

namespace specd {
namespace {

using Json = nlohmann::ordered_json;

// splitmix64: a tiny generator whose stream is the same on every platform and library.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in (0, 1].
  double Uniform() { return (static_cast<double>(Next() >> 11) + 1.0) / 9007199254740992.0; }
  // Standard normal (Box-Muller).
  double Normal() {
    return std::sqrt(-2.0 * std::log(Uniform())) * std::cos(2.0 * std::numbers::pi * Uniform());
  }

 private:
  uint64_t state_;
};

uint64_t Fnv1a(std::string_view text) {
  uint64_t hash = 0xCBF29CE484222325ull;
  for (char c : text) hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001B3ull;
  return hash;
}

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// Scales that keep activations O(1) through the layers, so numeric differences between
// implementations show up in the logits instead of vanishing in near-uniform outputs.
std::vector<float> RandomValues(const WeightSpec& spec, uint64_t seed) {
  SplitMix64 rng(seed ^ Fnv1a(spec.name));
  const bool is_norm = EndsWith(spec.name, "norm.weight");
  const bool is_bias = EndsWith(spec.name, ".bias");
  const bool is_embedding = spec.name == kEmbeddingName;
  const double scale = is_norm || is_bias ? 0.2
                       : is_embedding     ? 1.0
                                          : 1.0 / std::sqrt(static_cast<double>(spec.shape[1]));
  std::vector<float> values(static_cast<size_t>(NumElements(spec.shape)));
  for (float& value : values) {
    value = static_cast<float>((is_norm ? 1.0 : 0.0) + scale * rng.Normal());
  }
  return values;
}

Status Validate(const RandomModelOptions& o) {
  if (o.vocab_size < kRandomModelMinVocab) {
    return InvalidArgumentError("vocab size must be at least " + std::to_string(kRandomModelMinVocab) +
                                " (256 byte tokens and bos/eos)");
  }
  if (o.vocab_size > kRandomModelMaxVocab) {
    return InvalidArgumentError("vocab size must be at most " + std::to_string(kRandomModelMaxVocab) +
                                " (tokens of up to three bytes)");
  }
  if (o.hidden_size <= 0 || o.intermediate_size <= 0 || o.num_layers <= 0 || o.num_heads <= 0 ||
      o.num_kv_heads <= 0 || o.max_position_embeddings <= 0 || o.head_dim < 0) {
    return InvalidArgumentError("sizes must be positive");
  }
  if (o.num_heads % o.num_kv_heads != 0) {
    return InvalidArgumentError("heads must be a multiple of kv heads");
  }
  if (o.head_dim == 0 && o.hidden_size % o.num_heads != 0) {
    return InvalidArgumentError("hidden size must be a multiple of heads when head dim is not given");
  }
  if (o.sliding_window && o.architecture != Architecture::kMistral) {
    return InvalidArgumentError("a sliding window needs the Mistral architecture");
  }
  return OkStatus();
}

Json ConfigJson(const RandomModelOptions& o) {
  static constexpr const char* kModelTypes[] = {"llama", "mistral", "qwen2"};
  Json config;
  config["architectures"] = {ArchitectureName(o.architecture)};
  config["model_type"] = kModelTypes[static_cast<int>(o.architecture)];
  config["vocab_size"] = o.vocab_size;
  config["hidden_size"] = o.hidden_size;
  config["intermediate_size"] = o.intermediate_size;
  config["num_hidden_layers"] = o.num_layers;
  config["num_attention_heads"] = o.num_heads;
  config["num_key_value_heads"] = o.num_kv_heads;
  config["head_dim"] = o.head_dim > 0 ? o.head_dim : o.hidden_size / o.num_heads;
  config["hidden_act"] = "silu";
  config["max_position_embeddings"] = o.max_position_embeddings;
  config["rms_norm_eps"] = o.rms_norm_eps;
  config["rope_theta"] = o.rope_theta;
  config["rope_scaling"] = nullptr;
  if (o.llama3_rope_scaling) {
    config["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                              {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 64}};
  }
  config["tie_word_embeddings"] = o.tie_word_embeddings;
  config["bos_token_id"] = kRandomModelBosId;
  config["eos_token_id"] = kRandomModelEosId;
  config["torch_dtype"] = o.dtype == DType::kBF16 ? "bfloat16" : o.dtype == DType::kF16 ? "float16" : "float32";
  if (o.architecture == Architecture::kLlama) {
    config["attention_bias"] = o.attention_bias;
    config["mlp_bias"] = false;
  }
  if (o.architecture == Architecture::kMistral) {
    config["sliding_window"] = o.sliding_window ? Json(*o.sliding_window) : Json(nullptr);
  }
  if (o.architecture == Architecture::kQwen2) config["use_sliding_window"] = false;
  return config;
}

Json SpecialToken(int32_t id, const std::string& content) {
  return {{"id", id}, {"content", content}, {"single_word", false}, {"lstrip", false},
          {"rstrip", false}, {"normalized", false}, {"special", true}};
}

// The merge order of single bytes: the most common English characters first, then the rest.
std::string ByteMergeOrder() {
  std::string order = " etaoinshrdlucmfwypvbgkjqxz";
  for (int b = 0; b < 256; ++b) {
    if (order.find(static_cast<char>(b)) == std::string::npos) order.push_back(static_cast<char>(b));
  }
  return order;
}

// Byte-level BPE vocabulary and merges past the 256 byte tokens and bos/eos: every pair of
// bytes (65536 two-byte tokens), then two-byte tokens extended by one more byte (up to 2^24
// three-byte tokens), in ByteMergeOrder, until `vocab_size` ids are taken. Each merge joins
// two tokens that earlier ranks made, so the tokenizer is a valid BPE at any size.
void AddMerges(int64_t vocab_size, Json& vocab, Json& merges) {
  // Appended to the ordered map's vector directly: its operator[] searches linearly, which
  // a 128k vocabulary cannot afford. The tokens are distinct by construction.
  auto& entries = static_cast<Json::object_t::Container&>(vocab.get_ref<Json::object_t&>());
  const std::string order = ByteMergeOrder();
  std::vector<std::string> symbols;  // the byte-level characters of `order`
  for (char c : order) symbols.emplace_back(byte_level::ByteToChar(static_cast<uint8_t>(c)));
  int64_t next_id = kRandomModelMinVocab;
  auto add = [&](const std::string& left, const std::string& right) {
    entries.emplace_back(left + right, next_id++);
    merges.push_back(left + " " + right);
  };
  for (size_t i = 0; i < symbols.size() && next_id < vocab_size; ++i) {
    for (size_t j = 0; j < symbols.size() && next_id < vocab_size; ++j) add(symbols[i], symbols[j]);
  }
  for (size_t i = 0; i < symbols.size() && next_id < vocab_size; ++i) {
    for (size_t j = 0; j < symbols.size() && next_id < vocab_size; ++j) {
      for (size_t k = 0; k < symbols.size() && next_id < vocab_size; ++k) add(symbols[i] + symbols[j], symbols[k]);
    }
  }
}

// A GPT-2 style byte-level BPE: ids 0..255 are the bytes, then bos and eos, then merges
// (AddMerges) until the vocabulary is full.
Json TokenizerJson(int64_t vocab_size) {
  Json vocab = Json::object();
  for (int b = 0; b < 256; ++b) vocab[std::string(byte_level::ByteToChar(static_cast<uint8_t>(b)))] = b;
  Json merges = Json::array();
  AddMerges(vocab_size, vocab, merges);
  const Json bos_piece = {{"SpecialToken", {{"id", "<|bos|>"}, {"type_id", 0}}}};
  const Json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false},
                           {"trim_offsets", true}, {"use_regex", true}};
  Json tokenizer;
  tokenizer["version"] = "1.0";
  tokenizer["truncation"] = nullptr;
  tokenizer["padding"] = nullptr;
  tokenizer["added_tokens"] = {SpecialToken(kRandomModelBosId, "<|bos|>"),
                               SpecialToken(kRandomModelEosId, "<|eos|>")};
  tokenizer["normalizer"] = nullptr;
  tokenizer["pre_tokenizer"] = byte_level;
  tokenizer["post_processor"] = {
      {"type", "TemplateProcessing"},
      {"single", {bos_piece, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
      {"pair", {bos_piece, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                bos_piece, {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
      {"special_tokens", {{"<|bos|>", {{"id", "<|bos|>"}, {"ids", {kRandomModelBosId}},
                                       {"tokens", {"<|bos|>"}}}}}}};
  tokenizer["decoder"] = byte_level;
  tokenizer["model"] = {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr},
                        {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr},
                        {"fuse_unk", false}, {"byte_fallback", false}, {"ignore_merges", false},
                        {"vocab", vocab}, {"merges", merges}};
  return tokenizer;
}

// Each tensor's values depend only on its name and the seed, so the tensors are made in
// parallel (one worker per core) with the same bytes as one after another; a 1B model takes
// seconds instead of a minute.
std::vector<TensorToWrite> RandomTensors(const std::vector<WeightSpec>& specs, DType dtype, uint64_t seed) {
  std::vector<TensorToWrite> tensors(specs.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < specs.size(); i = next++) {
      tensors[i] = {specs[i].name, dtype, specs[i].shape, EncodeFloats(RandomValues(specs[i], seed), dtype)};
    }
  };
  std::vector<std::jthread> workers(std::clamp<size_t>(std::thread::hardware_concurrency(), 1, specs.size()));
  for (std::jthread& worker : workers) worker = std::jthread(work);
  workers.clear();  // joins
  return tensors;
}

Status WriteJson(const std::filesystem::path& path, const Json& json) {
  std::ofstream out(path);
  out << json.dump(2) << "\n";
  out.close();
  if (!out) return FailedPreconditionError(path.string() + ": write failed");
  return OkStatus();
}

}  // namespace

Status WriteRandomModel(const RandomModelOptions& options, const std::string& out_dir) {
  SPECD_RETURN_IF_ERROR(Validate(options));
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) return FailedPreconditionError(out_dir + ": cannot create: " + ec.message());
  const std::filesystem::path dir(out_dir);
  const Json config_json = ConfigJson(options);
  SPECD_RETURN_IF_ERROR(WriteJson(dir / "config.json", config_json));
  SPECD_RETURN_IF_ERROR(WriteJson(dir / "generation_config.json",
                                  {{"bos_token_id", kRandomModelBosId},
                                   {"eos_token_id", kRandomModelEosId}}));
  SPECD_RETURN_IF_ERROR(WriteJson(dir / "tokenizer.json", TokenizerJson(options.vocab_size)));
  SPECD_ASSIGN_OR_RETURN(const ModelConfig config,
                         ParseModelConfig(config_json.dump(), (dir / "config.json").string()));
  return WriteSafetensors((dir / "model.safetensors").string(),
                          RandomTensors(ExpectedWeights(config), options.dtype, options.seed));
}

}  // namespace specd
