#include "admin/side_listener.h"

#include <thread>

#include "core/json.h"
#include "http/parser.h"
#include "http/serializer.h"
#include "net/asio.h"
#include "net/listener.h"
#include "net/socket_io.h"

namespace flexgate::admin {

namespace {
constexpr std::size_t kMaxRequestBytes = 16 * 1024;
}  // namespace

struct SideListener::Impl {
  explicit Impl(Handler handler) : handler(std::move(handler)) {}

  asio::io_context context{1};
  net::tcp::acceptor acceptor{context};
  std::thread thread;
  Handler handler;
  bool stopped = false;
  std::uint16_t bound_port = 0;  // read once at start: the acceptor belongs to the thread

  net::Task<void> serve(net::tcp::socket socket) {
    std::string buffer(kMaxRequestBytes, '\0');
    std::size_t filled = 0;
    http::RequestHead head;
    const http::Limits limits;
    SideReply reply;
    for (;;) {
      const net::IoResult read =
          co_await net::read_some(socket, std::span<char>(buffer.data() + filled, buffer.size() - filled));
      if (read.error || read.bytes == 0) co_return;
      filled += read.bytes;
      const auto outcome = http::parse_request_head(std::string_view(buffer.data(), filled), limits, head);
      if (outcome.status == http::ParseStatus::kComplete) {
        reply = handler(head);
        break;
      }
      if (outcome.status == http::ParseStatus::kError || filled == buffer.size()) {
        reply = SideReply{400, "application/json", "{\"error\":\"malformed request\"}\n"};
        break;
      }
    }
    std::string out;
    http::append_status_line(out, reply.status);
    out += "Content-Type: ";
    out += reply.content_type;
    out += "\r\nCache-Control: no-store\r\nConnection: close\r\nContent-Length: ";
    append_json_uint(out, reply.body.size());
    out += "\r\n\r\n";
    if (head.method != http::Method::kHead) out += reply.body;
    (void)co_await net::write_all(socket, out);
    std::error_code ignored;
    socket.shutdown(net::tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  net::Task<void> accept_loop() {
    while (acceptor.is_open()) {
      auto [ec, socket] = co_await acceptor.async_accept(net::use_task);
      if (ec) {
        if (!acceptor.is_open()) break;
        continue;
      }
      asio::co_spawn(context, serve(std::move(socket)), asio::detached);
    }
  }
};

SideListener::SideListener(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SideListener::~SideListener() { stop(); }

std::unique_ptr<SideListener> SideListener::start(const std::string& listen, Handler handler, std::string& error) {
  std::string host;
  std::uint16_t port = 0;
  if (!net::parse_host_port(listen, host, port)) {
    error = "not a host:port: " + listen;
    return nullptr;
  }
  auto impl = std::make_unique<Impl>(std::move(handler));
  net::tcp::endpoint endpoint;
  if (auto ec = net::make_endpoint(host, port, endpoint)) {
    error = listen + ": " + ec.message();
    return nullptr;
  }
  if (auto ec = net::open_listener(impl->acceptor, endpoint, 64)) {
    error = listen + ": " + ec.message();
    return nullptr;
  }
  std::error_code ignored;
  impl->bound_port = impl->acceptor.local_endpoint(ignored).port();
  Impl* raw = impl.get();
  asio::co_spawn(raw->context, raw->accept_loop(), asio::detached);
  raw->thread = std::thread([raw] { raw->context.run(); });
  return std::unique_ptr<SideListener>(new SideListener(std::move(impl)));
}

std::uint16_t SideListener::port() const { return impl_->bound_port; }

void SideListener::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  asio::post(impl_->context, [impl = impl_.get()] {
    std::error_code ignored;
    impl->acceptor.close(ignored);
  });
  impl_->context.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace flexgate::admin
