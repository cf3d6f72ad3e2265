// LoadRunner: sends a workload's requests to a server with one arrival pattern and collects what
// happened to each.
//
//   open loop (poisson, burst): the send times are planned up front; the runner's thread builds
//     request i, sleeps until its time and starts it (GenerateStream never blocks), so a slow
//     server cannot hold arrivals back. How late each request went out is in its record.
//   closed loop (concurrency): `clients` requests in flight; each end starts the next.
//
// Threads: Run on one caller thread (it blocks until every request sent has ended); the streams'
// ends arrive on gRPC's callback threads and only touch the counters under mutex_.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bench/load/arrival_pattern.h"
#include "bench/load/generate_stream.h"
#include "bench/load/request_planner.h"
#include "bench/load/request_record.h"
#include "bench/load/run_clock.h"
#include "bench/load/workload_spec.h"
#include "tools/cli/server_connection.h"

namespace specd::bench {

struct RunRecords {
  std::vector<RequestRecord> records;  // in request-index order
  double duration_s = 0;               // from the start to the last request's end
};

class LoadRunner {
 public:
  // `server`, `planner` and `workload` must outlive the runner.
  LoadRunner(cli::ServerConnection& server, const RequestPlanner& planner, const WorkloadSpec& workload)
      : server_(server), planner_(planner), workload_(workload) {}

  // Every request of the run carries `cache_salt` (see generate_request.h).
  RunRecords Run(const ArrivalPattern& arrival, const RunLimit& limit, const std::string& cache_salt);

 private:
  void RunOpenLoop(const std::vector<double>& offsets);
  void RunClosedLoop(int64_t clients, const RunLimit& limit);
  // Starts request `index`, planned for `scheduled_s` on the run's clock.
  void Send(PlannedRequest planned, double scheduled_s);
  void OnStreamDone();
  void WaitForAll();
  RunRecords Collect();

  cli::ServerConnection& server_;
  const RequestPlanner& planner_;
  const WorkloadSpec& workload_;
  std::unique_ptr<RunClock> clock_;
  std::string cache_salt_;
  std::vector<std::unique_ptr<GenerateStream>> streams_;  // the runner's thread only
  std::mutex mutex_;
  std::condition_variable stream_done_;
  int64_t in_flight_ = 0;  // guarded by mutex_
};

}  // namespace specd::bench
