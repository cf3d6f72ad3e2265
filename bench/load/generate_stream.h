// GenerateStream: one Generation.Generate call on gRPC's callback API, filling its RequestRecord
// as the messages arrive (times on the run's clock). Nothing blocks: the load runner can start
// any number of streams from one thread and keep its arrival schedule.
//
// Threads: Start on the runner's thread; OnReadDone / OnDone on gRPC's callback threads, one at
// a time. `on_done` runs last, at the end of OnDone; after it the stream (and its record) belong
// to the runner again, which may read the record and destroy the stream.
#pragma once

#include <functional>

#include <grpcpp/grpcpp.h>

#include "bench/load/request_record.h"
#include "bench/load/run_clock.h"
#include "specd/v1/generation.grpc.pb.h"
#include "tools/cli/server_connection.h"

namespace specd::bench {

class GenerateStream : public grpc::ClientReadReactor<v1::GenerateResponse> {
 public:
  GenerateStream(v1::GenerateRequest request, RequestRecord record, const RunClock& clock, std::function<void()> on_done)
      : request_(std::move(request)), record_(std::move(record)), clock_(clock), on_done_(std::move(on_done)) {}

  // Sends the request (record().sent_s is now). Call once.
  void Start(cli::ServerConnection& server);

  // Read only after on_done ran.
  const RequestRecord& record() const { return record_; }

  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  void Take(const v1::GenerateResponse& response);

  grpc::ClientContext context_;
  const v1::GenerateRequest request_;
  v1::GenerateResponse response_;
  RequestRecord record_;
  const RunClock& clock_;
  const std::function<void()> on_done_;
};

}  // namespace specd::bench
