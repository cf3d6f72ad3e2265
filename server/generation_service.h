// Generation service: Generate (a GenerateCall per stream), Tokenize and Detokenize. Handlers
// run on gRPC threads; until the model is loaded they answer UNAVAILABLE.
#pragma once

#include "server/serving_context.h"
#include "specd/v1/generation.grpc.pb.h"

namespace specd {

class GenerationService : public v1::Generation::CallbackService {
 public:
  explicit GenerationService(ServingContext& serving) : serving_(serving) {}

  grpc::ServerWriteReactor<v1::GenerateResponse>* Generate(
      grpc::CallbackServerContext* context, const v1::GenerateRequest* request) override;
  grpc::ServerUnaryReactor* Tokenize(grpc::CallbackServerContext* context,
                                     const v1::TokenizeRequest* request,
                                     v1::TokenizeResponse* response) override;
  grpc::ServerUnaryReactor* Detokenize(grpc::CallbackServerContext* context,
                                       const v1::DetokenizeRequest* request,
                                       v1::DetokenizeResponse* response) override;

 private:
  ServingContext& serving_;
};

}  // namespace specd
