#include "engine/core/engine_config.h"

#include <set>

#include "engine/base/json_fields.h"

namespace specd {
namespace {

constexpr int64_t kMaxBatchedTokens = 1 << 20;
constexpr int64_t kMaxSeqs = 4096;
constexpr int64_t kMaxQueued = 1 << 20;
constexpr int64_t kMaxBlocks = 1 << 24;
constexpr int64_t kMaxBlockSize = 1024;

Status ParseKvCache(const JsonFields& fields, KvCacheConfig& cache) {
  SPECD_RETURN_IF_ERROR(fields.RejectUnknownKeys({"block_size", "num_blocks", "enable_prefix_caching"}));
  SPECD_ASSIGN_OR_RETURN(const int64_t block_size, fields.IntInRange("block_size", cache.block_size, 1, kMaxBlockSize));
  SPECD_ASSIGN_OR_RETURN(const int64_t num_blocks, fields.IntInRange("num_blocks", cache.num_blocks, 0, kMaxBlocks));
  SPECD_ASSIGN_OR_RETURN(cache.enable_prefix_caching, fields.Bool("enable_prefix_caching", cache.enable_prefix_caching));
  cache.block_size = static_cast<int32_t>(block_size);
  cache.num_blocks = static_cast<int32_t>(num_blocks);
  return OkStatus();
}

StatusOr<QosClass> ParseQosClass(const JsonFields& fields) {
  SPECD_RETURN_IF_ERROR(fields.RejectUnknownKeys({"name", "priority", "max_running", "preemptible"}));
  QosClass qos;
  SPECD_ASSIGN_OR_RETURN(qos.name, fields.String("name", ""));
  if (qos.name.empty()) return fields.Error("missing 'name'");
  SPECD_ASSIGN_OR_RETURN(const int64_t priority, fields.IntInRange("priority", 0, -1000000, 1000000));
  SPECD_ASSIGN_OR_RETURN(const int64_t max_running, fields.IntInRange("max_running", 0, 0, kMaxSeqs));
  SPECD_ASSIGN_OR_RETURN(qos.preemptible, fields.Bool("preemptible", true));
  qos.priority = static_cast<int32_t>(priority);
  qos.max_running = static_cast<int32_t>(max_running);
  return qos;
}

Status ParseQos(const JsonFields& fields, EngineConfig& config) {
  SPECD_RETURN_IF_ERROR(fields.RejectUnknownKeys({"default_class", "classes"}));
  SPECD_ASSIGN_OR_RETURN(const auto classes, fields.ObjectArray("classes"));
  if (classes.empty()) return fields.Error("'classes' must name at least one class");
  config.qos_classes.clear();
  std::set<std::string> names;
  for (const JsonFields& entry : classes) {
    SPECD_ASSIGN_OR_RETURN(QosClass qos, ParseQosClass(entry));
    if (!names.insert(qos.name).second) return fields.Error("class '" + qos.name + "' is defined twice");
    config.qos_classes.push_back(std::move(qos));
  }
  SPECD_ASSIGN_OR_RETURN(config.default_qos_class, fields.String("default_class", config.qos_classes[0].name));
  if (config.FindQosClass(config.default_qos_class) == nullptr) {
    return fields.Error("default_class '" + config.default_qos_class + "' is not one of the classes");
  }
  return OkStatus();
}

Status ParseTopLevel(const JsonFields& fields, EngineConfig& config) {
  SPECD_RETURN_IF_ERROR(fields.RejectUnknownKeys({"max_num_batched_tokens", "max_num_seqs",
      "max_queued_requests", "scheduling_policy", "overlap_steps", "kv_cache", "qos"}));
  SPECD_ASSIGN_OR_RETURN(const int64_t batched, fields.IntInRange("max_num_batched_tokens", config.max_num_batched_tokens, 1, kMaxBatchedTokens));
  SPECD_ASSIGN_OR_RETURN(const int64_t seqs, fields.IntInRange("max_num_seqs", config.max_num_seqs, 1, kMaxSeqs));
  SPECD_ASSIGN_OR_RETURN(const int64_t queued, fields.IntInRange("max_queued_requests", config.max_queued_requests, 1, kMaxQueued));
  config.max_num_batched_tokens = static_cast<int32_t>(batched);
  config.max_num_seqs = static_cast<int32_t>(seqs);
  config.max_queued_requests = static_cast<int32_t>(queued);
  SPECD_ASSIGN_OR_RETURN(const std::string policy, fields.String("scheduling_policy", "fcfs"));
  if (policy != "fcfs" && policy != "priority") {
    return fields.Error("'scheduling_policy' must be \"fcfs\" or \"priority\", got \"" + policy + "\"");
  }
  config.policy = policy == "fcfs" ? SchedulingPolicy::kFcfs : SchedulingPolicy::kPriority;
  SPECD_ASSIGN_OR_RETURN(config.overlap_steps, fields.Bool("overlap_steps", config.overlap_steps));
  return OkStatus();
}

}  // namespace

const QosClass* EngineConfig::FindQosClass(const std::string& name) const {
  for (const QosClass& qos : qos_classes) {
    if (qos.name == name) return &qos;
  }
  return nullptr;
}

StatusOr<EngineConfig> ParseEngineConfig(const std::string& json_text, const std::string& source) {
  SPECD_ASSIGN_OR_RETURN(const nlohmann::json json, ParseJsonObject(json_text, source));
  const JsonFields fields(json, source);
  EngineConfig config;
  SPECD_RETURN_IF_ERROR(ParseTopLevel(fields, config));
  SPECD_ASSIGN_OR_RETURN(const auto kv_cache, fields.Object("kv_cache"));
  if (kv_cache) SPECD_RETURN_IF_ERROR(ParseKvCache(*kv_cache, config.kv_cache));
  SPECD_ASSIGN_OR_RETURN(const auto qos, fields.Object("qos"));
  if (qos) SPECD_RETURN_IF_ERROR(ParseQos(*qos, config));
  return config;
}

StatusOr<EngineConfig> LoadEngineConfig(const std::string& path) {
  SPECD_ASSIGN_OR_RETURN(const nlohmann::json json, ReadJsonObjectFile(path));
  return ParseEngineConfig(json.dump(), path);
}

}  // namespace specd
