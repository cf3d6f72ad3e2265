#include "server/server_config.h"

#include "engine/base/json_fields.h"
#include "engine/base/logging.h"

namespace specd {
namespace {

constexpr int64_t kMaxPort = 65535;

Status ParseFields(const JsonFields& fields, ServerConfig& config) {
  SPECD_RETURN_IF_ERROR(fields.RejectUnknownKeys(
      {"model", "runner", "gpu_memory_utilization", "batch_invariant", "cuda_graphs", "listen", "metrics_port",
       "drain_timeout_seconds", "log_level", "spec_config", "engine"}));
  SPECD_ASSIGN_OR_RETURN(config.model, fields.String("model", config.model));
  SPECD_ASSIGN_OR_RETURN(config.runner, fields.String("runner", config.runner));
  if (config.runner != "cpu" && config.runner != "cuda") {
    return fields.Error("'runner' must be \"cpu\" or \"cuda\", got \"" + config.runner + "\"");
  }
  SPECD_ASSIGN_OR_RETURN(config.gpu_memory_utilization,
                         fields.PositiveNumber("gpu_memory_utilization", config.gpu_memory_utilization));
  if (config.gpu_memory_utilization > 1) return fields.Error("'gpu_memory_utilization' must be at most 1");
  SPECD_ASSIGN_OR_RETURN(config.batch_invariant, fields.Bool("batch_invariant", config.batch_invariant));
  SPECD_ASSIGN_OR_RETURN(config.cuda_graphs, fields.Bool("cuda_graphs", config.cuda_graphs));
  SPECD_ASSIGN_OR_RETURN(config.listen, fields.String("listen", config.listen));
  if (config.listen.rfind(':') == std::string::npos) {
    return fields.Error("'listen' must be HOST:PORT, got \"" + config.listen + "\"");
  }
  SPECD_ASSIGN_OR_RETURN(const int64_t metrics_port, fields.IntInRange("metrics_port", config.metrics_port, -1, kMaxPort));
  config.metrics_port = static_cast<int32_t>(metrics_port);
  SPECD_ASSIGN_OR_RETURN(config.drain_timeout_seconds,
                         fields.PositiveNumber("drain_timeout_seconds", config.drain_timeout_seconds));
  SPECD_ASSIGN_OR_RETURN(config.log_level, fields.String("log_level", config.log_level));
  SPECD_ASSIGN_OR_RETURN(config.spec_config, fields.String("spec_config", config.spec_config));
  if (spdlog::level::from_str(config.log_level) == spdlog::level::off && config.log_level != "off") {
    return fields.Error("'log_level' must be trace, debug, info, warn, error, critical or off, got \"" +
                        config.log_level + "\"");
  }
  if (const nlohmann::json* engine = fields.Find("engine")) {
    SPECD_ASSIGN_OR_RETURN(config.engine, ParseEngineConfig(engine->dump(), fields.source() + ": 'engine'"));
  }
  return OkStatus();
}

}  // namespace

nlohmann::json EngineConfigToJson(const EngineConfig& config) {
  nlohmann::json classes = nlohmann::json::array();
  for (const QosClass& qos : config.qos_classes) {
    classes.push_back({{"name", qos.name}, {"priority", qos.priority},
                       {"max_running", qos.max_running}, {"preemptible", qos.preemptible}});
  }
  return {{"max_num_batched_tokens", config.max_num_batched_tokens},
          {"max_num_seqs", config.max_num_seqs},
          {"max_queued_requests", config.max_queued_requests},
          {"scheduling_policy", config.policy == SchedulingPolicy::kFcfs ? "fcfs" : "priority"},
          {"overlap_steps", config.overlap_steps},
          {"kv_cache", {{"block_size", config.kv_cache.block_size},
                        {"num_blocks", config.kv_cache.num_blocks},
                        {"enable_prefix_caching", config.kv_cache.enable_prefix_caching}}},
          {"qos", {{"default_class", config.default_qos_class}, {"classes", classes}}}};
}

nlohmann::json ServerConfig::ToJson() const {
  return {{"model", model}, {"runner", runner}, {"gpu_memory_utilization", gpu_memory_utilization},
          {"batch_invariant", batch_invariant}, {"cuda_graphs", cuda_graphs}, {"listen", listen}, {"metrics_port", metrics_port},
          {"drain_timeout_seconds", drain_timeout_seconds}, {"log_level", log_level},
          {"spec_config", spec_config},
          {"engine", EngineConfigToJson(engine)}};
}

StatusOr<ServerConfig> ParseServerConfig(const std::string& json_text, const std::string& source) {
  SPECD_ASSIGN_OR_RETURN(const nlohmann::json json, ParseJsonObject(json_text, source));
  ServerConfig config;
  SPECD_RETURN_IF_ERROR(ParseFields(JsonFields(json, source), config));
  return config;
}

StatusOr<ServerConfig> LoadServerConfig(const std::string& path) {
  SPECD_ASSIGN_OR_RETURN(const nlohmann::json json, ReadJsonObjectFile(path));
  return ParseServerConfig(json.dump(), path);
}

}  // namespace specd
