// One Generate call on the callback API (see generate_stream.h).
#include "bench/load/generate_stream.h"

#include "tools/cli/grpc_status_conversion.h"

namespace specd::bench {

void GenerateStream::Start(cli::ServerConnection& server) {
  server.Prepare(context_);
  server.generation().async()->Generate(&context_, &request_, this);
  StartRead(&response_);
  record_.sent_s = clock_.Now();
  StartCall();
}

void GenerateStream::OnReadDone(bool ok) {
  if (!ok) return;  // the stream has ended; OnDone follows
  Take(response_);
  StartRead(&response_);
}

void GenerateStream::Take(const v1::GenerateResponse& response) {
  if (response.has_delta() && response.delta().token_ids_size() > 0) {
    record_.arrivals.push_back({clock_.Now(), response.delta().token_ids_size()});
  } else if (response.has_finish()) {
    record_.finish_s = clock_.Now();
    const v1::Usage& usage = response.finish().usage();
    record_.prompt_tokens = usage.prompt_tokens();
    record_.cached_tokens = usage.cached_tokens();
    record_.completion_tokens = usage.completion_tokens();
    record_.draft_tokens = usage.draft_tokens();
    record_.accepted_tokens = usage.accepted_tokens();
  }
}

void GenerateStream::OnDone(const grpc::Status& grpc_status) {
  record_.done_s = clock_.Now();
  const Status status = cli::FromGrpcStatus(grpc_status);
  if (!status.ok()) {
    record_.outcome = StatusCodeName(status.code());
    record_.error_message = status.message();
  } else if (!record_.finish_s) {
    record_.outcome = "INCOMPLETE_STREAM";
  }
  // Last, and through a copy: once it has run, the runner may destroy this stream.
  const std::function<void()> on_done = on_done_;
  on_done();
}

}  // namespace specd::bench
