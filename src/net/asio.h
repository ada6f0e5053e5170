#pragma once
// The project's single include of Asio with the settings every file must share.

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>

namespace flexgate::net {

namespace ip = asio::ip;

// The executor every coroutine, socket and timer of the gateway runs on: the io_context's own.
// Asio's default, the type-erased asio::any_io_executor, is copied, queried and destroyed several
// times per asynchronous operation (200-400 instructions per proxied request, measured).
using Executor = asio::io_context::executor_type;

// asio::ip::tcp with its socket, acceptor and resolver bound to Executor. Never constructed: only
// its types and static members are used.
struct tcp : asio::ip::tcp {
  using socket = asio::basic_stream_socket<asio::ip::tcp, Executor>;
  using acceptor = asio::basic_socket_acceptor<asio::ip::tcp, Executor>;
  using resolver = asio::ip::basic_resolver<asio::ip::tcp, Executor>;
};

using SteadyTimer =
    asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>, Executor>;

template <class T>
using Task = asio::awaitable<T, Executor>;
// Completion token for coroutines that report errors as values instead of throwing.
inline constexpr auto use_task = asio::experimental::as_tuple(asio::use_awaitable_t<Executor>{});

}  // namespace flexgate::net
