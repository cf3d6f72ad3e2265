#include "server/generate_command.h"

#include <nlohmann/json.hpp>

#include "engine/base/flag_parser.h"
#include "engine/base/logging.h"
#include "engine/core/engine_core.h"
#include "engine/output/request_output_stream.h"
#include "engine/runner/cpu_runner.h"
#include "engine/tokenizer/tokenizer.h"

namespace specd {
namespace {

constexpr int64_t kDefaultMaxTokens = 64;
// The bundled target (models/specd-code-target) of the source tree this binary was built from.
constexpr char kDefaultModelDir[] = SPECD_DEFAULT_MODEL_DIR;
constexpr int32_t kBlockSize = 16;
constexpr char kRequestId[] = "generate";
constexpr auto kPollInterval = std::chrono::milliseconds(100);

struct GenerateFlags {
  std::string model_dir;
  std::string prompt;
  SamplingParams sampling;
  bool json = false;
};

Status ParseSampling(const FlagParser& parser, SamplingParams& sampling) {
  SPECD_ASSIGN_OR_RETURN(const int64_t max_tokens, parser.GetInt("max-tokens", kDefaultMaxTokens));
  if (max_tokens < 1) return InvalidArgumentError("--max-tokens must be at least 1");
  sampling.max_tokens = static_cast<int32_t>(std::min<int64_t>(max_tokens, INT32_MAX));
  SPECD_ASSIGN_OR_RETURN(const double temperature, parser.GetDouble("temperature", 0.0));
  SPECD_ASSIGN_OR_RETURN(const double top_p, parser.GetDouble("top-p", 1.0));
  SPECD_ASSIGN_OR_RETURN(const int64_t top_k, parser.GetInt("top-k", 0));
  sampling.temperature = static_cast<float>(temperature);
  sampling.top_p = static_cast<float>(top_p);
  sampling.top_k = static_cast<int32_t>(std::clamp<int64_t>(top_k, -1, INT32_MAX));
  if (parser.Has("seed")) {
    SPECD_ASSIGN_OR_RETURN(const int64_t seed, parser.GetInt("seed", 0));
    sampling.seed = static_cast<uint64_t>(seed);
  }
  if (parser.Has("stop")) sampling.stop = {parser.GetString("stop", "")};
  return OkStatus();
}

StatusOr<GenerateFlags> ParseFlags(const std::vector<std::string>& args) {
  FlagParser parser({"model", "prompt", "max-tokens", "temperature", "top-p", "top-k", "seed",
                     "stop", "log-level"},
                    {"json"});
  SPECD_RETURN_IF_ERROR(parser.Parse(args));
  GenerateFlags flags;
  if (!parser.Has("prompt")) return InvalidArgumentError("--prompt TEXT is required");
  flags.model_dir = parser.GetString("model", kDefaultModelDir);
  flags.prompt = parser.GetString("prompt", "");
  if (flags.prompt.empty()) return InvalidArgumentError("--prompt is empty");
  SPECD_RETURN_IF_ERROR(ParseSampling(parser, flags.sampling));
  flags.json = parser.GetSwitch("json");
  const std::string level = parser.GetString("log-level", "warn");
  if (!SetLogLevel(level)) return InvalidArgumentError("--log-level: unknown level '" + level + "'");
  return flags;
}

// An engine over the CPU runner with a cache just big enough for this one request.
StatusOr<std::unique_ptr<EngineCore>> MakeEngine(const std::string& model_dir, int64_t num_tokens) {
  EngineConfig config;
  config.kv_cache = {.num_blocks = static_cast<int32_t>((num_tokens + kBlockSize - 1) / kBlockSize),
                     .block_size = kBlockSize, .enable_prefix_caching = false};
  SPECD_ASSIGN_OR_RETURN(auto runner, CpuRunner::Create(model_dir, {.block_size = kBlockSize,
                                                                    .num_blocks = config.kv_cache.num_blocks}));
  const ModelConfig model = runner->config();
  auto engine = std::make_unique<EngineCore>(config, std::move(runner), model);
  engine->Start();
  return engine;
}

}  // namespace

Status RunGenerateCommand(const std::vector<std::string>& args, std::ostream& out) {
  SPECD_ASSIGN_OR_RETURN(GenerateFlags flags, ParseFlags(args));
  SPECD_ASSIGN_OR_RETURN(const ModelConfig config, LoadModelConfig(flags.model_dir));
  SPECD_ASSIGN_OR_RETURN(const auto tokenizer, Tokenizer::FromFile(flags.model_dir + "/tokenizer.json"));
  SPECD_ASSIGN_OR_RETURN(const auto prompt_ids, tokenizer->Encode(flags.prompt, /*add_special_tokens=*/true));
  const int64_t prompt_length = static_cast<int64_t>(prompt_ids.size());
  if (prompt_length >= config.max_position_embeddings) {
    return InvalidArgumentError("the prompt has " + std::to_string(prompt_length) +
                                " tokens; the context length is " +
                                std::to_string(config.max_position_embeddings));
  }
  // Like a completion API: generation stops at the context length ("length").
  flags.sampling.max_tokens = static_cast<int32_t>(
      std::min<int64_t>(flags.sampling.max_tokens, config.max_position_embeddings - prompt_length));
  SPECD_ASSIGN_OR_RETURN(const auto engine, MakeEngine(flags.model_dir, prompt_length + flags.sampling.max_tokens));
  auto stream = std::make_shared<RequestOutputStream>(tokenizer.get(), flags.sampling,
                                                      [&engine] { engine->Abort(kRequestId, FinishReason::kStop); });
  SPECD_RETURN_IF_ERROR(engine->Submit({.request_id = kRequestId, .prompt_token_ids = prompt_ids,
                                        .sampling = flags.sampling, .priority = 0, .qos_class = "",
                                        .cache_salt = "", .deadline = std::nullopt, .sink = stream}));
  std::vector<int32_t> output_ids;
  std::string text;
  StreamOutput last;
  while (!stream->finished()) {
    auto output = stream->Next(kPollInterval);
    if (!output) continue;
    for (const TokenOutput& token : output->tokens) output_ids.push_back(token.token);
    text += output->text;
    if (!flags.json) out << output->text << std::flush;
    last = std::move(*output);
  }
  if (*last.finish_reason == FinishReason::kError) return InternalError(last.error_message);
  if (flags.json) {
    nlohmann::json json = {{"prompt_token_ids", prompt_ids}, {"token_ids", output_ids},
                           {"text", text}, {"finish_reason", FinishReasonName(*last.finish_reason)}};
    if (last.matched_stop) json["stop"] = *last.matched_stop;
    out << json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    out << "\n";
  }
  return OkStatus();
}

}  // namespace specd
