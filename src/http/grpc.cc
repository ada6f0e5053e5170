#include "http/grpc.h"

#include "http/header_token.h"

#include <algorithm>

namespace flexgate::http {

bool is_grpc_content_type(std::string_view value) {
  constexpr std::string_view kGrpc = "application/grpc";
  if (value.size() < kGrpc.size() || !iequals(value.substr(0, kGrpc.size()), kGrpc)) return false;
  if (value.size() == kGrpc.size()) return true;
  const char next = value[kGrpc.size()];
  return next == '+' || next == ';' || next == ' ' || next == '\t';  // application/grpcfoo is not
}

std::optional<std::chrono::nanoseconds> parse_grpc_timeout(std::string_view value) {
  if (value.size() < 2 || value.size() > 9) return std::nullopt;
  std::int64_t amount = 0;
  for (const char c : value.substr(0, value.size() - 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    amount = amount * 10 + (c - '0');  // at most 8 digits: fits easily
  }
  using std::chrono::nanoseconds;
  // 99999999H is 3.6e20 ns, past int64: the larger units are capped (in their own unit, before
  // any conversion) at kMaxGrpcTimeout, which is longer than any route timeout bounding the call.
  const auto capped = [amount](auto unit_limit) { return std::min<std::int64_t>(amount, unit_limit); };
  switch (value.back()) {
    case 'H': return nanoseconds(std::chrono::hours(capped(kMaxGrpcTimeout.count())));
    case 'M': return nanoseconds(std::chrono::minutes(capped(kMaxGrpcTimeout.count() * 60)));
    case 'S': return nanoseconds(std::chrono::seconds(capped(kMaxGrpcTimeout.count() * 3600)));
    case 'm': return std::chrono::duration_cast<nanoseconds>(std::chrono::milliseconds(amount));
    case 'u': return std::chrono::duration_cast<nanoseconds>(std::chrono::microseconds(amount));
    case 'n': return nanoseconds(amount);
    default: return std::nullopt;
  }
}

std::optional<std::uint32_t> parse_grpc_status(std::string_view value) {
  if (value.empty() || value.size() > 10) return std::nullopt;
  std::uint64_t status = 0;
  for (const char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    status = status * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (status > UINT32_MAX) return std::nullopt;
  return static_cast<std::uint32_t>(status);
}

void append_grpc_message(std::string& out, std::string_view text) {
  constexpr std::string_view kHex = "0123456789ABCDEF";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte <= 0x7e && byte != '%') {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    }
  }
}

}  // namespace flexgate::http
