// GenerateCall: one Generation.Generate stream, as a gRPC callback reactor.
//
//   gRPC thread:    validate → tokenize → EngineCore::Submit (or Finish with the error at once)
//   engine thread:  deltas queue in the call's bridge (never blocks, never detokenizes)
//   worker / gRPC:  the bridge turns queued deltas into messages; one write outstanding; deltas
//                   that arrive during a write are merged into the next message
//   client cancel / disconnect / failed write → EngineCore::Abort, blocks freed within a step
//
// The reactor deletes itself in OnDone; the bridge it shares with the engine outlives it.
#pragma once

#include <memory>

#include <grpcpp/grpcpp.h>

#include "server/serving_context.h"
#include "specd/v1/generation.pb.h"

namespace specd {

class GenerateCall : public grpc::ServerWriteReactor<v1::GenerateResponse> {
 public:
  GenerateCall(grpc::CallbackServerContext* context, const v1::GenerateRequest* request,
               ServingContext& serving);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

  class Bridge;  // the OutputSink side, in generate_call.cc

 private:
  std::shared_ptr<Bridge> bridge_;
};

}  // namespace specd
