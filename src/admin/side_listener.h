#pragma once
// A small HTTP/1.1 listener on a thread of its own, for the operator endpoints that must answer
// even when the workers are saturated and must not share the public port: the admin API and a
// separate metrics port. One request per connection (Connection: close); the handler returns the
// whole reply. Bodies are not read.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "http/message.h"

namespace flexgate::admin {

// One reply of a side listener.
struct SideReply {
  std::uint16_t status = 200;
  std::string content_type = "application/json";
  std::string body;
};

class SideListener {
 public:
  using Handler = std::function<SideReply(const http::RequestHead&)>;

  // Binds `listen` ("host:port"; port 0 picks one) and starts the thread; nullptr with `error`
  // set when the address cannot be bound. `handler` runs on that thread.
  static std::unique_ptr<SideListener> start(const std::string& listen, Handler handler, std::string& error);
  ~SideListener();
  SideListener(const SideListener&) = delete;
  SideListener& operator=(const SideListener&) = delete;

  std::uint16_t port() const;
  // Stops accepting and joins the thread (idempotent).
  void stop();

  struct Impl;

 private:
  explicit SideListener(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace flexgate::admin
