// specd-model: model-folder utilities.
//   specd-model make-random --out DIR [--architecture llama|mistral|qwen2] [--vocab N]
//       [--hidden N] [--intermediate N] [--layers N] [--heads N] [--kv-heads N] [--head-dim N]
//       [--max-position N] [--rope-theta X] [--llama3-rope-scaling] [--tie-embeddings]
//       [--attention-bias] [--sliding-window N] [--dtype bf16|fp16|fp32] [--seed N]
#include <iostream>
#include <string>
#include <vector>

#include "engine/base/flag_parser.h"
#include "tools/random_model.h"

namespace specd {
namespace {

constexpr char kUsage[] =
    "usage: specd-model make-random --out DIR [--architecture llama|mistral|qwen2] [--vocab N]\n"
    "         [--hidden N] [--intermediate N] [--layers N] [--heads N] [--kv-heads N]\n"
    "         [--head-dim N] [--max-position N] [--rope-theta X] [--llama3-rope-scaling]\n"
    "         [--tie-embeddings] [--attention-bias] [--sliding-window N]\n"
    "         [--dtype bf16|fp16|fp32] [--seed N]\n";

StatusOr<Architecture> ParseArchitectureFlag(const std::string& name) {
  if (name == "llama") return Architecture::kLlama;
  if (name == "mistral") return Architecture::kMistral;
  if (name == "qwen2") return Architecture::kQwen2;
  return InvalidArgumentError("--architecture must be llama, mistral or qwen2, got '" + name + "'");
}

StatusOr<DType> ParseDTypeFlag(const std::string& name) {
  if (name == "bf16") return DType::kBF16;
  if (name == "fp16") return DType::kF16;
  if (name == "fp32") return DType::kF32;
  return InvalidArgumentError("--dtype must be bf16, fp16 or fp32, got '" + name + "'");
}

StatusOr<RandomModelOptions> OptionsFromFlags(const FlagParser& flags) {
  RandomModelOptions o;
  SPECD_ASSIGN_OR_RETURN(o.architecture, ParseArchitectureFlag(flags.GetString("architecture", "llama")));
  SPECD_ASSIGN_OR_RETURN(o.vocab_size, flags.GetInt("vocab", o.vocab_size));
  SPECD_ASSIGN_OR_RETURN(o.hidden_size, flags.GetInt("hidden", o.hidden_size));
  SPECD_ASSIGN_OR_RETURN(o.intermediate_size, flags.GetInt("intermediate", o.intermediate_size));
  SPECD_ASSIGN_OR_RETURN(o.num_layers, flags.GetInt("layers", o.num_layers));
  SPECD_ASSIGN_OR_RETURN(o.num_heads, flags.GetInt("heads", o.num_heads));
  SPECD_ASSIGN_OR_RETURN(o.num_kv_heads, flags.GetInt("kv-heads", o.num_heads));
  SPECD_ASSIGN_OR_RETURN(o.head_dim, flags.GetInt("head-dim", o.head_dim));
  SPECD_ASSIGN_OR_RETURN(o.max_position_embeddings, flags.GetInt("max-position", o.max_position_embeddings));
  SPECD_ASSIGN_OR_RETURN(o.rope_theta, flags.GetDouble("rope-theta", o.rope_theta));
  o.llama3_rope_scaling = flags.GetSwitch("llama3-rope-scaling");
  o.tie_word_embeddings = flags.GetSwitch("tie-embeddings");
  o.attention_bias = flags.GetSwitch("attention-bias");
  if (flags.Has("sliding-window")) {
    SPECD_ASSIGN_OR_RETURN(o.sliding_window, flags.GetInt("sliding-window", 0));
  }
  SPECD_ASSIGN_OR_RETURN(o.dtype, ParseDTypeFlag(flags.GetString("dtype", "bf16")));
  SPECD_ASSIGN_OR_RETURN(const int64_t seed, flags.GetInt("seed", 0));
  o.seed = static_cast<uint64_t>(seed);
  return o;
}

Status MakeRandom(const std::vector<std::string>& args) {
  FlagParser flags({"out", "architecture", "vocab", "hidden", "intermediate", "layers", "heads",
                    "kv-heads", "head-dim", "max-position", "rope-theta", "sliding-window",
                    "dtype", "seed"},
                   {"llama3-rope-scaling", "tie-embeddings", "attention-bias"});
  SPECD_RETURN_IF_ERROR(flags.Parse(args));
  if (!flags.Has("out")) return InvalidArgumentError("--out DIR is required");
  SPECD_ASSIGN_OR_RETURN(const RandomModelOptions options, OptionsFromFlags(flags));
  const std::string out = flags.GetString("out", "");
  SPECD_RETURN_IF_ERROR(WriteRandomModel(options, out));
  std::cout << "wrote " << out << "\n";
  return OkStatus();
}

}  // namespace
}  // namespace specd

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] != "make-random") {
    std::cerr << specd::kUsage;
    return 2;
  }
  const specd::Status status = specd::MakeRandom({args.begin() + 1, args.end()});
  if (!status.ok()) {
    std::cerr << "specd-model: " << status.message() << "\n" << specd::kUsage;
    return 2;
  }
  return 0;
}
