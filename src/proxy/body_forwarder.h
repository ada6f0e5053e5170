#pragma once
// Streams a message body from one socket to another through the source's fixed buffer: bounded
// memory whatever the body size, and a slow sink slows the source reads (no buffer growth).
// Data is written straight from the read buffer (gather writes, no body copies), or for a large
// fixed-length body between plain sockets never enters the gateway at all (splice through a pipe).

#include <cstdint>
#include <string_view>
#include <system_error>

#include "core/byte_buffer.h"
#include "http/chunked.h"
#include "net/asio.h"
#include "net/splice_pipe.h"
#include "net/stream.h"
#include "policy/headers/header_plan.h"

namespace flexgate::proxy {

// How a body transfer ended.
enum class StreamOutcome : std::uint8_t {
  kDone,          // whole body forwarded (and for chunked, the last chunk written)
  kSourceClosed,  // source closed before the body ended (truncation)
  kSourceError,   // read error or cancellation on the source
  kSinkError,     // write error or cancellation on the sink
  kBadFraming,    // malformed chunked coding
  kTooLarge,      // decoded body over the limit
};

struct StreamResult {
  StreamOutcome outcome = StreamOutcome::kDone;
  std::error_code error;
  std::uint64_t body_bytes = 0;  // body bytes taken from the source
  bool wrote = false;            // some byte (prefix or body) reached the sink
};

// `prefix` (e.g. the message head) is written before the first body bytes, in the same write.

// Bodies with at least this much left after what is buffered go socket to socket by splice(2)
// when `pipes` is given and both streams are plain TCP: below it the pipe's two syscalls per
// piece cost more than the copies they save.
inline constexpr std::uint64_t kSpliceMinBytes = 16 * 1024;
// What a response's first read takes when its body could be spliced (both streams plain): a head
// and a body up to about this size come in that one read, a larger body's rest is spliced.
inline constexpr std::size_t kFirstResponseReadBytes = 16 * 1024;

// Forwards exactly `length` bytes (Content-Length framing).
net::Task<StreamResult> forward_fixed_body(net::Stream& source, ByteBuffer& source_buffer,
                                           net::Stream& sink, std::uint64_t length,
                                           std::string_view prefix = {}, net::SplicePipes* pipes = nullptr);

// Which trailer fields stay behind besides those never allowed in a trailer section
// (http::is_forbidden_trailer).
struct TrailerFilter {
  std::string_view connection_options;       // the message's Connection list (a copy: its head is gone by then)
  const policy::HeaderPlan* plan = nullptr;  // responses: the fields the route's plan hides
};

// Decodes a chunked body and writes it re-encoded as chunked: extensions dropped, the trailer
// fields forwarded after the last chunk except the ones `trailers` filters out.
net::Task<StreamResult> forward_chunked_body(net::Stream& source, ByteBuffer& source_buffer,
                                             net::Stream& sink, http::ChunkedDecoder& decoder,
                                             std::string_view prefix = {}, TrailerFilter trailers = {});

// Forwards until the source closes (a response without framing); chunk-encodes when asked so a
// keep-alive HTTP/1.1 client still sees where the body ends.
net::Task<StreamResult> forward_until_close(net::Stream& source, ByteBuffer& source_buffer,
                                            net::Stream& sink, bool encode_chunked,
                                            std::string_view prefix = {});

}  // namespace flexgate::proxy
