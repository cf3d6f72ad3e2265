// Sending a workload on schedule (see load_runner.h).
#include "bench/load/load_runner.h"

#include <algorithm>
#include <thread>

#include "bench/load/generate_request.h"

namespace specd::bench {

RunRecords LoadRunner::Run(const ArrivalPattern& arrival, const RunLimit& limit, const std::string& cache_salt) {
  streams_.clear();
  cache_salt_ = cache_salt;
  std::vector<double> offsets;
  if (arrival.open_loop()) {
    SeededRng rng = SeededRng::ForStream(workload_.seed, 0);  // stream 0: arrivals
    offsets = ArrivalOffsets(arrival, limit, rng);
  }
  clock_ = std::make_unique<RunClock>();
  if (arrival.open_loop()) {
    RunOpenLoop(offsets);
  } else {
    RunClosedLoop(arrival.clients, limit);
  }
  WaitForAll();
  return Collect();
}

void LoadRunner::RunOpenLoop(const std::vector<double>& offsets) {
  for (size_t i = 0; i < offsets.size(); ++i) {
    PlannedRequest planned = planner_.Make(static_cast<int64_t>(i));  // built before its time comes
    std::this_thread::sleep_until(clock_->At(offsets[i]));
    Send(std::move(planned), offsets[i]);
  }
}

void LoadRunner::RunClosedLoop(int64_t clients, const RunLimit& limit) {
  const auto more = [&](int64_t sent) {
    return limit.requests ? sent < *limit.requests : clock_->Now() < *limit.duration_s;
  };
  for (int64_t sent = 0; more(sent); ++sent) {
    PlannedRequest planned = planner_.Make(sent);
    {
      std::unique_lock<std::mutex> lock(mutex_);
      const auto client_free = [&] { return in_flight_ < clients; };
      if (limit.duration_s) {
        if (!stream_done_.wait_until(lock, clock_->At(*limit.duration_s), client_free)) return;
      } else {
        stream_done_.wait(lock, client_free);
      }
    }
    // Closed loop: a request is due when its client is free; the lag is the client's own delay.
    Send(std::move(planned), clock_->Now());
  }
}

void LoadRunner::Send(PlannedRequest planned, double scheduled_s) {
  RequestRecord record;
  record.index = planned.index;
  record.scheduled_s = scheduled_s;
  record.requested_prompt_tokens = static_cast<int64_t>(planned.prompt_ids.size());
  record.max_tokens = planned.max_tokens;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++in_flight_;
  }
  streams_.push_back(std::make_unique<GenerateStream>(MakeGenerateRequest(planned, workload_, cache_salt_), std::move(record),
                                                      *clock_, [this] { OnStreamDone(); }));
  streams_.back()->Start(server_);
}

void LoadRunner::OnStreamDone() {
  std::lock_guard<std::mutex> lock(mutex_);
  --in_flight_;
  stream_done_.notify_all();
}

void LoadRunner::WaitForAll() {
  std::unique_lock<std::mutex> lock(mutex_);
  stream_done_.wait(lock, [this] { return in_flight_ == 0; });
}

RunRecords LoadRunner::Collect() {
  RunRecords out;
  for (const auto& stream : streams_) {
    out.records.push_back(stream->record());
    out.duration_s = std::max(out.duration_s, stream->record().done_s);
  }
  streams_.clear();
  return out;
}

}  // namespace specd::bench
