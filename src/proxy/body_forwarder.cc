#include "proxy/body_forwarder.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <charconv>

#include "net/socket_io.h"

namespace flexgate::proxy {
namespace {

constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kLastChunk = "0\r\n\r\n";

// Chunk size lines for one gather write.
struct ChunkHeaders {
  static constexpr std::size_t kMax = 4;
  std::array<std::array<char, 20>, kMax> lines;

  std::string_view format(std::size_t slot, std::uint64_t size) {
    auto& line = lines[slot];
    auto [end, ec] = std::to_chars(line.data(), line.data() + 16, size, 16);
    (void)ec;
    *end++ = '\r';
    *end++ = '\n';
    return {line.data(), static_cast<std::size_t>(end - line.data())};
  }
};

bool is_eof(const std::error_code& ec) { return ec == asio::error::eof; }

// Records a failed write to the sink in `result`; true when it failed.
bool sink_failed(const net::IoResult& written, StreamResult& result) {
  if (written.bytes > 0) result.wrote = true;
  if (!written.error) return false;
  result.outcome = StreamOutcome::kSinkError;
  result.error = written.error;
  return true;
}

// Records a failed read from the source in `result` (end of stream = truncation); true when it failed.
bool source_failed(const net::IoResult& read, StreamResult& result) {
  if (!read.error) return false;
  result.outcome = is_eof(read.error) ? StreamOutcome::kSourceClosed : StreamOutcome::kSourceError;
  result.error = read.error;
  return true;
}

asio::const_buffer buf(std::string_view s) { return {s.data(), s.size()}; }

// The last chunk with the decoded trailer fields that may go on; just kLastChunk without them.
std::string_view last_chunk(const http::ChunkedDecoder& decoder, const TrailerFilter& filter, std::string& out) {
  std::string_view section = decoder.trailer_section();
  if (section.empty()) return kLastChunk;
  out.assign("0\r\n");
  http::HeaderField field;
  while (http::next_trailer_field(section, field)) {
    if (http::is_forbidden_trailer(field, filter.connection_options)) continue;
    if (filter.plan != nullptr && filter.plan->hides(field)) continue;
    out.append(field.name).append(": ").append(field.value).append("\r\n");
  }
  out.append("\r\n");
  return out;
}

}  // namespace

namespace {

// The rest of a fixed-length body, `remaining` bytes, socket to pipe to socket. A slow sink
// leaves bytes in the pipe, and the source is read again only once they are out (the pipe is the
// bounded buffer); the source's readiness flag is cleared on EAGAIN, so each wait is for an edge.

net::Task<void> splice_fixed_body(net::tcp::socket& source, net::tcp::socket& sink, net::SplicePipe& pipe,
                                  std::uint64_t remaining, StreamResult& result) {
  // One pipe's worth per splice: 16 pages by default.
  constexpr std::uint64_t kPieceBytes = 64 * 1024;
  while (remaining > 0 || pipe.held() > 0) {
    if (pipe.held() == 0) {
      const net::IoResult in = pipe.fill_from(source, static_cast<std::size_t>(std::min(remaining, kPieceBytes)));
      if (in.would_block()) {
        auto [wait_error] = co_await net::wait_readable(source);
        if (source_failed(net::IoResult{wait_error, 0}, result)) co_return;
        continue;
      }
      if (source_failed(in, result)) co_return;
      remaining -= in.bytes;
    }
    const net::IoResult out = pipe.drain_to(sink);
    if (out.would_block()) {
      auto [wait_error] = co_await sink.async_wait(net::tcp::socket::wait_write, net::use_task);
      if (sink_failed(net::IoResult{wait_error, 0}, result)) co_return;
      continue;
    }
    if (sink_failed(out, result)) co_return;
    result.body_bytes += out.bytes;
  }
}

}  // namespace

net::Task<StreamResult> forward_fixed_body(net::Stream& source, ByteBuffer& source_buffer, net::Stream& sink,
                                           std::uint64_t length, std::string_view prefix, net::SplicePipes* pipes) {
  StreamResult result;
  std::uint64_t remaining = length;
  for (;;) {
    std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, source_buffer.readable_size()));
    if (take > 0 || !prefix.empty()) {
      std::array<asio::const_buffer, 2> parts{buf(prefix), buf(source_buffer.readable().substr(0, take))};
      net::IoResult written = net::write_now(sink, parts);
      if (written.would_block()) written = co_await net::write_rest(sink, parts, written.bytes);
      if (sink_failed(written, result)) co_return result;
      prefix = {};
      source_buffer.consume(take);
      remaining -= take;
      result.body_bytes += take;
    }
    if (remaining == 0) co_return result;
    assert(source_buffer.empty());  // all it held went out above: less than `remaining` was buffered
    if (pipes != nullptr && remaining >= kSpliceMinBytes && source.plain() && sink.plain()) {
      if (net::SplicePipes::Lease pipe = pipes->take()) {
        co_await splice_fixed_body(source.socket(), sink.socket(), *pipe, remaining, result);
        co_return result;
      }
    }
    auto read = co_await net::read_some(source, source_buffer.writable());
    if (source_failed(read, result)) co_return result;
    source_buffer.commit(read.bytes);
  }
}

net::Task<StreamResult> forward_chunked_body(net::Stream& source, ByteBuffer& source_buffer,
                                             net::Stream& sink, http::ChunkedDecoder& decoder,
                                             std::string_view prefix, TrailerFilter trailers) {
  StreamResult result;
  std::string trailer_lines;  // allocates only for a message with trailers
  ChunkHeaders headers;  // NOLINT(cppcoreguidelines-pro-type-member-init): a line is written before use
  for (;;) {
    // Decode as many chunks as fit in one gather write: [size line][data][CRLF] per chunk.
    std::array<asio::const_buffer, 1 + ChunkHeaders::kMax * 3 + 1> parts;
    std::size_t count = 0;
    parts[count++] = buf(prefix);
    std::string_view input = source_buffer.readable();
    std::size_t used = 0;
    std::size_t chunks = 0;
    bool done = false;
    while (chunks < ChunkHeaders::kMax && used < input.size()) {
      auto step = decoder.next(input.substr(used));
      used += step.consumed;
      if (step.kind == http::ChunkedDecoder::Kind::kData) {
        parts[count++] = buf(headers.format(chunks, step.data.size()));
        parts[count++] = buf(step.data);
        parts[count++] = buf(kCrlf);
        result.body_bytes += step.data.size();
        ++chunks;
      } else if (step.kind == http::ChunkedDecoder::Kind::kDone) {
        parts[count++] = buf(last_chunk(decoder, trailers, trailer_lines));
        done = true;
        break;
      } else if (step.kind == http::ChunkedDecoder::Kind::kError) {
        result.outcome = step.error == http::ParseError::kBodyTooLarge ? StreamOutcome::kTooLarge
                                                                       : StreamOutcome::kBadFraming;
        co_return result;
      } else {
        break;  // kNeedMore: the decoder kept what it needs of a partial line
      }
    }
    if (count > 1 || !prefix.empty()) {
      auto span = std::span<const asio::const_buffer>(parts.data(), count);
      if (sink_failed(co_await net::write_all(sink, span), result)) co_return result;
      prefix = {};
    }
    source_buffer.consume(used);
    if (done) co_return result;
    if (used < input.size()) continue;  // more complete chunks already buffered
    auto read = co_await net::read_some(source, source_buffer.writable());
    if (source_failed(read, result)) co_return result;
    source_buffer.commit(read.bytes);
  }
}

net::Task<StreamResult> forward_until_close(net::Stream& source, ByteBuffer& source_buffer,
                                            net::Stream& sink, bool encode_chunked, std::string_view prefix) {
  StreamResult result;
  ChunkHeaders headers;  // NOLINT(cppcoreguidelines-pro-type-member-init): a line is written before use
  for (;;) {
    std::string_view data = source_buffer.readable();
    if (!data.empty() || !prefix.empty()) {
      std::array<asio::const_buffer, 4> parts{buf(prefix)};
      std::size_t count = 1;
      if (!data.empty()) {
        if (encode_chunked) parts[count++] = buf(headers.format(0, data.size()));
        parts[count++] = buf(data);
        if (encode_chunked) parts[count++] = buf(kCrlf);
      }
      auto span = std::span<const asio::const_buffer>(parts.data(), count);
      if (sink_failed(co_await net::write_all(sink, span), result)) co_return result;
      prefix = {};
      result.body_bytes += data.size();
      source_buffer.consume(data.size());
    }
    auto read = co_await net::read_some(source, source_buffer.writable());
    if (read.error) {
      if (!is_eof(read.error)) {
        result.outcome = StreamOutcome::kSourceError;
        result.error = read.error;
        co_return result;
      }
      if (encode_chunked) {
        sink_failed(co_await net::write_all(sink, kLastChunk), result);
      }
      co_return result;
    }
    source_buffer.commit(read.bytes);
  }
}

}  // namespace flexgate::proxy
