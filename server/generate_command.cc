#include "server/generate_command.h"

#include <nlohmann/json.hpp>

#include "engine/base/flag_parser.h"
#include "engine/base/logging.h"
#include "engine/offline/offline_generator.h"
#include "engine/runner/cpu_runner.h"
#include "engine/tokenizer/tokenizer.h"

namespace specd {
namespace {

constexpr int64_t kDefaultMaxTokens = 64;
// The bundled target (models/specd-code-target) of the source tree this binary was built from.
constexpr char kDefaultModelDir[] = SPECD_DEFAULT_MODEL_DIR;
constexpr int64_t kBlockSize = 16;

struct GenerateFlags {
  std::string model_dir;
  std::string prompt;
  int64_t max_tokens = kDefaultMaxTokens;
  bool json = false;
};

StatusOr<GenerateFlags> ParseFlags(const std::vector<std::string>& args) {
  FlagParser parser({"model", "prompt", "max-tokens", "log-level"}, {"json"});
  SPECD_RETURN_IF_ERROR(parser.Parse(args));
  GenerateFlags flags;
  if (!parser.Has("prompt")) return InvalidArgumentError("--prompt TEXT is required");
  flags.model_dir = parser.GetString("model", kDefaultModelDir);
  flags.prompt = parser.GetString("prompt", "");
  if (flags.prompt.empty()) return InvalidArgumentError("--prompt is empty");
  SPECD_ASSIGN_OR_RETURN(flags.max_tokens, parser.GetInt("max-tokens", kDefaultMaxTokens));
  if (flags.max_tokens < 1) return InvalidArgumentError("--max-tokens must be at least 1");
  flags.json = parser.GetSwitch("json");
  const std::string level = parser.GetString("log-level", "warn");
  if (!SetLogLevel(level)) return InvalidArgumentError("--log-level: unknown level '" + level + "'");
  return flags;
}

}  // namespace

Status RunGenerateCommand(const std::vector<std::string>& args, std::ostream& out) {
  SPECD_ASSIGN_OR_RETURN(const GenerateFlags flags, ParseFlags(args));
  SPECD_ASSIGN_OR_RETURN(const ModelConfig config, LoadModelConfig(flags.model_dir));
  SPECD_ASSIGN_OR_RETURN(const auto tokenizer, Tokenizer::FromFile(flags.model_dir + "/tokenizer.json"));
  SPECD_ASSIGN_OR_RETURN(const auto prompt_ids, tokenizer->Encode(flags.prompt, /*add_special_tokens=*/true));
  const CpuRunnerOptions options{
      .block_size = kBlockSize,
      .num_blocks = OfflineGenerator::BlocksNeeded(static_cast<int64_t>(prompt_ids.size()),
                                                   flags.max_tokens, kBlockSize, config)};
  SPECD_ASSIGN_OR_RETURN(const auto runner, CpuRunner::Create(flags.model_dir, options));
  OfflineGenerator generator(*runner, runner->config(), *tokenizer);
  std::function<void(std::string_view)> print;
  if (!flags.json) print = [&out](std::string_view text) { out << text << std::flush; };
  SPECD_ASSIGN_OR_RETURN(const GenerationResult result,
                         generator.Generate(prompt_ids, flags.max_tokens, print));
  if (flags.json) {
    const nlohmann::json json = {{"prompt_token_ids", result.prompt_token_ids},
                                 {"token_ids", result.token_ids},
                                 {"text", result.text},
                                 {"finish_reason", result.finish_reason}};
    out << json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    out << "\n";
  }
  return OkStatus();
}

}  // namespace specd
