#include "http/serializer.h"

#include "http/head_writer.h"

#include <array>
#include <charconv>
#include <cstring>

namespace flexgate::http {

void append_request_line(std::string& out, std::string_view method, std::string_view target) {
  out.append(method);
  out.push_back(' ');
  out.append(target);
  out.append(" HTTP/1.1\r\n");
}

namespace {

constexpr std::uint16_t kFirstTabledStatus = 100;
constexpr std::uint16_t kLastTabledStatus = 599;

}  // namespace

std::string_view tabled_status_line(std::uint16_t status) {
  // Every status a parsed response can carry, written once: a response head then starts with one
  // copy instead of a number conversion and four appends.
  static const auto kLines = [] {
    std::array<std::string, kLastTabledStatus - kFirstTabledStatus + 1> lines;
    for (std::uint16_t s = kFirstTabledStatus; s <= kLastTabledStatus; ++s) {
      HeadWriter(lines[s - kFirstTabledStatus]).status_line_in_pieces(s);
    }
    return lines;
  }();
  if (status < kFirstTabledStatus || status > kLastTabledStatus) return {};
  return kLines[status - kFirstTabledStatus];
}

void append_status_line(std::string& out, std::uint16_t status) {
  if (const std::string_view line = tabled_status_line(status); !line.empty()) {
    out.append(line);
    return;
  }
  HeadWriter(out).status_line_in_pieces(status);
}

std::string_view connection_field(bool close, std::uint8_t request_version_minor) {
  if (close) return "Connection: close\r\n";
  return request_version_minor == 0 ? "Connection: keep-alive\r\n" : "";
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  // One size change and plain copies: four appends cost twice as much on the hot path.
  const std::size_t at = out.size();
  out.resize(at + name.size() + value.size() + 4);
  char* p = out.data() + at;
  std::memcpy(p, name.data(), name.size());
  p += name.size();
  *p++ = ':';
  *p++ = ' ';
  if (!value.empty()) std::memcpy(p, value.data(), value.size());
  p += value.size();
  *p++ = '\r';
  *p = '\n';
}

void append_parsed_field(std::string& out, const HeaderField& field) {
  if (const std::string_view line = canonical_line_in_head(field); !line.empty()) {
    out.append(line);
    return;
  }
  append_field(out, field.name, field.value);
}

void append_chunk_size(std::string& out, std::uint64_t size) {
  char digits[16];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, size, 16);
  (void)ec;  // cannot fail: 64 bits are at most 16 hex digits
  out.append(digits, end);
  out.append(kCrlf);
}

std::string_view reason_phrase(std::uint16_t status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 102:
      return "Processing";
    case 103:
      return "Early Hints";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 203:
      return "Non-Authoritative Information";
    case 204:
      return "No Content";
    case 205:
      return "Reset Content";
    case 206:
      return "Partial Content";
    case 207:
      return "Multi-Status";
    case 300:
      return "Multiple Choices";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 305:
      return "Use Proxy";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 402:
      return "Payment Required";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 407:
      return "Proxy Authentication Required";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 417:
      return "Expectation Failed";
    case 421:
      return "Misdirected Request";
    case 422:
      return "Unprocessable Content";
    case 425:
      return "Too Early";
    case 426:
      return "Upgrade Required";
    case 428:
      return "Precondition Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 451:
      return "Unavailable For Legal Reasons";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

}  // namespace flexgate::http
