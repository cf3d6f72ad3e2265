// EngineStatsSnapshot: the engine-derived values the metrics endpoint exports, as a plain
// struct so that server/metrics does not depend on the engine. The server adapts the engine's
// stats to it in an EngineStatsSource, which the scrape thread calls once per scrape (so it
// must be thread-safe and cheap: read atomics or a published copy, never the scheduler).
#pragma once

#include <cstdint>
#include <functional>

namespace specd::metrics {

struct EngineStatsSnapshot {
  int64_t running = 0;                // requests in the running batch
  int64_t waiting = 0;                // requests queued, not yet scheduled
  double kv_usage = 0.0;              // fraction of KV cache blocks in use, [0, 1]
  int64_t prefix_queried_tokens = 0;  // monotonic: prompt tokens looked up in the prefix cache
  int64_t prefix_hit_tokens = 0;      // monotonic: of those, found cached
  int64_t preemptions = 0;            // monotonic: requests preempted (recompute)
  int64_t spec_drafts = 0;            // monotonic: request-steps that verified drafts
  int64_t spec_draft_tokens = 0;      // monotonic: draft tokens verified
  int64_t spec_accepted_tokens = 0;   // monotonic: of those, accepted
};

using EngineStatsSource = std::function<EngineStatsSnapshot()>;

}  // namespace specd::metrics
