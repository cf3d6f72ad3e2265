// EngineConfig: the engine's knobs, from a JSON preset (configs/engine/*.json). Unknown keys are
// rejected so a typo never silently falls back to a default.
//
// {
//   "max_num_batched_tokens": 2048,   token budget of one step
//   "max_num_seqs": 64,               running requests at most
//   "max_queued_requests": 1024,      waiting requests at most; Submit beyond is refused
//   "scheduling_policy": "fcfs",      or "priority" (per-request priority, then arrival)
//   "overlap_steps": true,            launch a decode step before the previous one's output is
//                                     back (engine_core.h); not while speculation may draft
//   "kv_cache": {"block_size": 16, "num_blocks": 2048, "enable_prefix_caching": true},
//                                     num_blocks 0: as many as GPU memory allows (cuda runner)
//   "qos": {"default_class": "standard",
//           "classes": [{"name": "interactive", "priority": 0, "max_running": 32,
//                        "preemptible": false}, ...]}
// }
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "engine/kv/kv_cache_manager.h"

namespace specd {

enum class SchedulingPolicy { kFcfs, kPriority };

// A tenant queue: lower priority values run first (as request priorities do).
struct QosClass {
  std::string name;
  int32_t priority = 0;
  int32_t max_running = 0;  // 0: no cap beyond max_num_seqs
  bool preemptible = true;
};

struct EngineConfig {
  int32_t max_num_batched_tokens = 2048;
  int32_t max_num_seqs = 64;
  int32_t max_queued_requests = 1024;
  SchedulingPolicy policy = SchedulingPolicy::kFcfs;
  bool overlap_steps = true;
  KvCacheConfig kv_cache{.num_blocks = 1024, .block_size = 16, .enable_prefix_caching = true};
  std::vector<QosClass> qos_classes{{.name = "default"}};
  std::string default_qos_class = "default";

  // The class named `name`, or nullptr.
  const QosClass* FindQosClass(const std::string& name) const;
};

// Parses a preset; `source` names it in errors. Checks ranges, unknown keys, that class names
// are unique and that the default class exists.
StatusOr<EngineConfig> ParseEngineConfig(const std::string& json_text, const std::string& source);
StatusOr<EngineConfig> LoadEngineConfig(const std::string& path);

}  // namespace specd
