// A gRPC server for the gateway's tests: `grpc_echo_server PORT` (0 = a free port) serves the
// flexgate.test.Echo service in plaintext HTTP/2 on 127.0.0.1, prints "listening PORT" once bound,
// and runs until it is killed (the test harness's ChildProcess ends it).

#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "echo.grpc.pb.h"

namespace {

// Echo: each method does the smallest thing that shows its kind of call went through.
class EchoService final : public flexgate::test::Echo::Service {
  grpc::Status Unary(grpc::ServerContext*, const flexgate::test::EchoRequest* request,
                     flexgate::test::EchoReply* reply) override {
    reply->set_text(request->text());
    return grpc::Status::OK;
  }

  grpc::Status ServerStream(grpc::ServerContext*, const flexgate::test::EchoRequest* request,
                            grpc::ServerWriter<flexgate::test::EchoReply>* writer) override {
    for (int i = 0; i < request->repeat(); ++i) {
      flexgate::test::EchoReply reply;
      reply.set_text(request->text() + " " + std::to_string(i));
      if (!writer->Write(reply)) break;
    }
    return grpc::Status::OK;
  }

  grpc::Status ClientStream(grpc::ServerContext*, grpc::ServerReader<flexgate::test::EchoRequest>* reader,
                            flexgate::test::EchoReply* reply) override {
    flexgate::test::EchoRequest request;
    std::string joined;
    int count = 0;
    while (reader->Read(&request)) {
      joined += request.text();
      ++count;
    }
    reply->set_text(joined);
    reply->set_count(count);
    return grpc::Status::OK;
  }

  grpc::Status Chat(grpc::ServerContext*,
                    grpc::ServerReaderWriter<flexgate::test::EchoReply, flexgate::test::EchoRequest>* stream) override {
    flexgate::test::EchoRequest request;
    int count = 0;
    while (stream->Read(&request)) {
      flexgate::test::EchoReply reply;
      reply.set_text("re: " + request.text());
      reply.set_count(++count);
      if (!stream->Write(reply)) break;
    }
    return grpc::Status::OK;
  }

  grpc::Status Fail(grpc::ServerContext* context, const flexgate::test::FailRequest* request,
                    flexgate::test::EchoReply*) override {
    if (!request->trailer_value().empty()) context->AddTrailingMetadata("x-test-trailer", request->trailer_value());
    return {static_cast<grpc::StatusCode>(request->code()), request->message()};
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: grpc_echo_server PORT\n";
    return 2;
  }
  EchoService service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(std::string("127.0.0.1:") + argv[1], grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::cerr << "grpc_echo_server: could not listen on port " << argv[1] << "\n";
    return 1;
  }
  std::printf("listening %d\n", port);
  std::fflush(stdout);
  server->Wait();
  return 0;
}
