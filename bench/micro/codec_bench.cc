// HTTP/1.1 codec hot path: head parsing (requests, responses), chunked decoding, and writing the
// upstream request head. Rates are input (or output) bytes per second.
// Run: build-*/bench/micro/codec_bench [--benchmark_filter=...]

#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "http/chunked.h"
#include "http/header_token.h"
#include "http/parser.h"
#include "http/serializer.h"
#include "observe/trace_context.h"

namespace flexgate::http {
namespace {

// What a browser sends for a page: request line + 10 fields, ~400 bytes.
const std::string kTypicalRequest =
    "GET /catalog/shoes?size=42&color=blue HTTP/1.1\r\n"
    "Host: shop.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
    "Accept: text/html,application/xhtml+xml,*/*;q=0.8\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Referer: https://shop.example.com/\r\n"
    "Cookie: sid=8f14e45fceea167a5a36; theme=dark\r\n"
    "Connection: keep-alive\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "DNT: 1\r\n"
    "\r\n";

// The heavy end of real traffic: ~8 KiB, 60 fields, most of the bytes in long cookies and tokens
// (analytics cookies, a JWT), the rest many short X- fields. Stays under the 16 KiB head limit.
std::string make_large_request() {
  std::string head =
      "POST /api/v2/accounts/4711/orders/2024-000123/items?expand=product,price&locale=en-US HTTP/1.1\r\n"
      "Host: shop.example.com\r\n"
      "User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/120.0.0.0 Safari/537.36\r\n"
      "Accept: application/json, text/plain, */*\r\n"
      "Accept-Language: en-US,en;q=0.9,de;q=0.8\r\n"
      "Accept-Encoding: gzip, deflate, br\r\n"
      "Content-Type: application/json\r\n"
      "Content-Length: 512\r\n"
      "Origin: https://shop.example.com\r\n"
      "Referer: https://shop.example.com/checkout\r\n"
      "Connection: keep-alive\r\n";
  auto filler = [](std::size_t length, std::uint32_t seed) {
    static constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    std::string s;
    for (std::size_t i = 0; i < length; ++i) {
      seed = seed * 1103515245u + 12345u;
      s += kAlphabet[(seed >> 16) % kAlphabet.size()];
    }
    return s;
  };
  head += "Authorization: Bearer eyJhbGciOiJSUzI1NiJ9." + filler(700, 1) + "." + filler(340, 2) + "\r\n";
  // Cookies as browsers send them: one field, many `name=value; ` pairs.
  head += "Cookie: ";
  for (int i = 0; i < 40; ++i) {
    if (i > 0) head += "; ";
    head += "_ck" + std::to_string(i) + "=" + filler(i % 4 == 0 ? 200 : 60, 100 + i);
  }
  head += "\r\n";
  for (int i = 0; i < 48; ++i) {
    head += "X-Client-Hint-" + std::to_string(i) + ": " + filler(i < 8 ? 60 : 24, 1000 + i) + "\r\n";
  }
  head += "\r\n";
  return head;
}

// A typical upstream answer to a JSON API call: status line + 10 fields.
const std::string kTypicalResponse =
    "HTTP/1.1 200 OK\r\n"
    "Date: Sun, 29 Nov 2026 10:15:42 GMT\r\n"
    "Server: backend/1.4.2\r\n"
    "Content-Type: application/json; charset=utf-8\r\n"
    "Content-Length: 1834\r\n"
    "Connection: keep-alive\r\n"
    "Cache-Control: private, max-age=0, no-cache\r\n"
    "ETag: W/\"72a-Lq1vKZ4Jz8sO0o4T0sCk0p3H5xE\"\r\n"
    "Vary: Accept-Encoding, Origin\r\n"
    "X-Request-Id: 6f1c2d3e-4b5a-4978-8a6b-0c1d2e3f4a5b\r\n"
    "Strict-Transport-Security: max-age=31536000; includeSubDomains\r\n"
    "\r\n";

void fail_unless_complete(benchmark::State& state, const ParseOutcome& outcome, std::size_t size) {
  if (outcome.status != ParseStatus::kComplete || outcome.consumed != size) {
    state.SkipWithError(("head did not parse: " + std::string(to_string(outcome.error))).c_str());
  }
}

// Request heads: what a worker spends per request before routing.
void request_head_bench(benchmark::State& state, const std::string& wire) {
  const Limits limits;
  auto head = std::make_unique<RequestHead>();  // ~5 KiB of field slots: reused, as a session does
  fail_unless_complete(state, parse_request_head(wire, limits, *head), wire.size());
  for (auto _ : state) {
    ParseOutcome outcome = parse_request_head(wire, limits, *head);
    benchmark::DoNotOptimize(outcome);
    benchmark::DoNotOptimize(head->fields.count);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(wire.size()));
  state.counters["head_bytes"] = static_cast<double>(wire.size());
  state.counters["fields"] = static_cast<double>(head->fields.count);
}

void BM_ParseRequestHeadTypical(benchmark::State& state) { request_head_bench(state, kTypicalRequest); }
BENCHMARK(BM_ParseRequestHeadTypical);

void BM_ParseRequestHeadLarge(benchmark::State& state) {
  static const std::string wire = make_large_request();
  request_head_bench(state, wire);
}
BENCHMARK(BM_ParseRequestHeadLarge);

// Response heads: the same parser on the upstream's answer (framing depends on the request method).
void BM_ParseResponseHeadTypical(benchmark::State& state) {
  const Limits limits;
  auto head = std::make_unique<ResponseHead>();
  fail_unless_complete(state, parse_response_head(kTypicalResponse, limits, Method::kGet, *head),
                       kTypicalResponse.size());
  for (auto _ : state) {
    ParseOutcome outcome = parse_response_head(kTypicalResponse, limits, Method::kGet, *head);
    benchmark::DoNotOptimize(outcome);
    benchmark::DoNotOptimize(head->fields.count);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kTypicalResponse.size()));
  state.counters["head_bytes"] = static_cast<double>(kTypicalResponse.size());
}
BENCHMARK(BM_ParseResponseHeadTypical);

// Chunked bodies: a 64 KiB body in 4 KiB chunks, decoded from one buffer. Rate = wire bytes.
// The decoder parses only the framing and hands out views of the data (no copy, no scan), so the
// cost is per chunk, not per byte: `chunks` is the rate that carries over to other chunk sizes.
void BM_ChunkedDecode64KiBIn4KiBChunks(benchmark::State& state) {
  constexpr std::size_t kBody = 64 * 1024;
  constexpr std::size_t kChunk = 4 * 1024;
  std::string wire;
  for (std::size_t sent = 0; sent < kBody; sent += kChunk) {
    append_chunk_size(wire, kChunk);
    wire.append(kChunk, static_cast<char>('a' + (sent / kChunk) % 26));
    wire += kCrlf;
  }
  wire += kLastChunk;
  ChunkedDecoder decoder;
  for (auto _ : state) {
    decoder.reset();
    std::string_view rest = wire;
    std::uint64_t body = 0;
    for (;;) {
      const ChunkedDecoder::Step step = decoder.next(rest);
      rest.remove_prefix(step.consumed);
      if (step.kind == ChunkedDecoder::Kind::kData) {
        body += step.data.size();
        benchmark::DoNotOptimize(step.data.data());
      } else if (step.kind != ChunkedDecoder::Kind::kNeedMore) {
        break;
      }
    }
    if (!decoder.done() || body != kBody) {
      state.SkipWithError("chunked body did not decode");
      break;
    }
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(wire.size()));
  state.counters["chunks"] = benchmark::Counter(static_cast<double>(state.iterations() * (kBody / kChunk + 1)),
                                                benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ChunkedDecode64KiBIn4KiBChunks);

// Upstream request head: the steps of Session::build_upstream_request_head (a private member, so
// mirrored here without the auth/header-rule hooks): request line, Host, the client's fields minus
// hop-by-hop and gateway-owned ones, then X-Forwarded-*, X-Correlation-ID and traceparent.
// Rate = bytes written.
bool skip_for_upstream(const HeaderField& field, const RequestHead& request) {
  switch (field.token) {
    case HeaderToken::kHost:
    case HeaderToken::kContentLength:
    case HeaderToken::kExpect:
    case HeaderToken::kXForwardedFor:
    case HeaderToken::kXForwardedProto:
    case HeaderToken::kXForwardedHost:
    case HeaderToken::kXCorrelationId:
      return true;
    default:
      break;
  }
  return is_connection_specific(field, request);
}

void BM_SerializeUpstreamRequestHead(benchmark::State& state) {
  auto request = std::make_unique<RequestHead>();
  fail_unless_complete(state, parse_request_head(kTypicalRequest, Limits{}, *request), kTypicalRequest.size());
  const observe::TraceId trace_id = observe::new_trace_id();
  const observe::SpanId span_id = observe::new_span_id();
  const std::string_view correlation_id = "3f2a9c1e-7b4d-4e8a-9f01-23456789abcd";
  const std::string_view client_address = "203.0.113.57";
  std::string out;
  out.reserve(2048);  // a session's head buffer keeps its capacity across requests
  for (auto _ : state) {
    out.clear();
    append_request_line(out, request->method_text, request->target);
    append_field(out, "Host", "backend.internal:8080");
    for (const HeaderField& field : request->fields) {
      if (skip_for_upstream(field, *request)) continue;
      if (iequals(field.name, "traceparent") || iequals(field.name, "tracestate")) continue;
      append_field(out, field.name, field.value);
    }
    append_field(out, "X-Forwarded-For", client_address);
    append_field(out, "X-Forwarded-Proto", "http");
    append_field(out, "X-Forwarded-Host", request->host);
    append_field(out, "X-Correlation-ID", correlation_id);
    out += "traceparent: ";
    observe::append_traceparent(out, trace_id, span_id, observe::kTraceFlagSampled);
    out += kCrlf;
    out += kCrlf;
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(out.size()));
  state.counters["head_bytes"] = static_cast<double>(out.size());
}
BENCHMARK(BM_SerializeUpstreamRequestHead);

}  // namespace
}  // namespace flexgate::http

BENCHMARK_MAIN();
