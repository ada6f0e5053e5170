#pragma once
// The project's single include of Asio with the settings every file must share.

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>

namespace flexgate::net {

namespace ip = asio::ip;
using tcp = asio::ip::tcp;
template <class T>
using Task = asio::awaitable<T>;
// Completion token for coroutines that report errors as values instead of throwing.
inline constexpr auto use_task = asio::experimental::as_tuple(asio::use_awaitable);

}  // namespace flexgate::net
