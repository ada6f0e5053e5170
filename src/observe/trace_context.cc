#include "observe/trace_context.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <random>

#include "core/hex.h"

namespace flexgate::observe {

namespace {


// Lower-case hex only: the spec forbids upper case, so "4BF9..." is not a trace id.
int lower_hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Decodes exactly 2 * out.size() characters of `text`.
bool decode_lower_hex(std::string_view text, std::span<std::uint8_t> out) {
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int high = lower_hex_value(text[2 * i]);
    const int low = lower_hex_value(text[2 * i + 1]);
    if (high < 0 || low < 0) return false;
    out[i] = static_cast<std::uint8_t>((high << 4) | low);
  }
  return true;
}

bool all_zero(std::span<const std::uint8_t> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim_ows(std::string_view text) {
  while (!text.empty() && is_ows(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_ows(text.back())) text.remove_suffix(1);
  return text;
}

bool is_lcalpha(char c) {
  return c >= 'a' && c <= 'z';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_key_char(char c) {
  return is_lcalpha(c) || is_digit(c) || c == '_' || c == '-' || c == '*' || c == '/';
}

// `first` is the set the first character must be in; the rest are key characters.
template <typename FirstChar>
bool valid_key_part(std::string_view part, std::size_t max_size, FirstChar first) {
  if (part.empty() || part.size() > max_size || !first(part.front())) return false;
  return std::all_of(part.begin() + 1, part.end(), is_key_char);
}

bool valid_tracestate_key(std::string_view key) {
  const std::size_t at = key.find('@');
  if (at == std::string_view::npos) return valid_key_part(key, 256, is_lcalpha);
  return valid_key_part(key.substr(0, at), 241, [](char c) { return is_lcalpha(c) || is_digit(c); }) &&
         valid_key_part(key.substr(at + 1), 14, is_lcalpha);
}

bool valid_tracestate_value(std::string_view value) {
  if (value.empty() || value.size() > 256 || value.back() == ' ') return false;
  return std::all_of(value.begin(), value.end(),
                     [](char c) { return c >= 0x20 && c <= 0x7e && c != ',' && c != '='; });
}

// splitmix64 over a per-thread counter seeded from std::random_device: a bijection of the counter,
// so one thread never repeats an output within 2^64 draws, and threads start at random points.
class IdGenerator {
 public:
  IdGenerator() {
    std::random_device device;
    state_ = (static_cast<std::uint64_t>(device()) << 32) ^ device();
  }

  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

 private:
  std::uint64_t state_ = 0;
};

IdGenerator& generator() {
  thread_local IdGenerator instance;
  return instance;
}

void store_big_endian(std::uint64_t value, std::uint8_t* out) {
  if constexpr (std::endian::native == std::endian::little) value = __builtin_bswap64(value);
  std::memcpy(out, &value, sizeof value);
}

}  // namespace

std::optional<TraceContext> parse_traceparent(std::string_view value) {
  value = trim_ows(value);
  if (value.size() < kTraceparentLength) return std::nullopt;
  std::uint8_t version = 0;
  if (!decode_lower_hex(value.substr(0, 2), std::span(&version, 1)) || version == 0xff) {
    return std::nullopt;
  }
  // Version 00 is exactly 55 characters; a later version may append fields after a '-'.
  if (value.size() > kTraceparentLength && (version == 0 || value[kTraceparentLength] != '-')) {
    return std::nullopt;
  }
  if (value[2] != '-' || value[35] != '-' || value[52] != '-') return std::nullopt;
  TraceContext context;
  if (!decode_lower_hex(value.substr(3, 32), context.trace_id) ||
      !decode_lower_hex(value.substr(36, 16), context.parent_id) ||
      !decode_lower_hex(value.substr(53, 2), std::span(&context.flags, 1))) {
    return std::nullopt;
  }
  if (all_zero(context.trace_id) || all_zero(context.parent_id)) return std::nullopt;
  return context;
}

bool valid_tracestate(std::string_view value) {
  if (value.size() > kMaxTracestateLength) return false;
  // Keys seen so far, to refuse duplicates: at most 32, so a linear scan is cheapest.
  std::array<std::string_view, kMaxTracestateMembers> keys;
  std::size_t member_count = 0;
  for (;;) {
    const std::size_t comma = value.find(',');
    const std::string_view member = trim_ows(value.substr(0, comma));
    if (!member.empty()) {
      const std::size_t equals = member.find('=');
      if (equals == std::string_view::npos) return false;
      const std::string_view key = member.substr(0, equals);
      if (!valid_tracestate_key(key) || !valid_tracestate_value(member.substr(equals + 1))) {
        return false;
      }
      if (member_count == kMaxTracestateMembers) return false;
      if (std::find(keys.begin(), keys.begin() + member_count, key) != keys.begin() + member_count) {
        return false;
      }
      keys[member_count++] = key;
    }
    if (comma == std::string_view::npos) return true;
    value.remove_prefix(comma + 1);
  }
}

SpanId new_span_id() {
  std::uint64_t value = 0;
  do {
    value = generator().next();
  } while (value == 0);
  SpanId id;
  store_big_endian(value, id.data());
  return id;
}

TraceId new_trace_id() {
  std::uint64_t high = 0;
  std::uint64_t low = 0;
  do {
    high = generator().next();
    low = generator().next();
  } while (high == 0 && low == 0);
  TraceId id;
  store_big_endian(high, id.data());
  store_big_endian(low, id.data() + 8);
  return id;
}

TraceContext new_trace(bool sampled) {
  TraceContext context;
  context.trace_id = new_trace_id();
  context.parent_id = new_span_id();
  context.flags = sampled ? kTraceFlagSampled : 0;
  return context;
}

void append_hex(std::string& out, std::span<const std::uint8_t> bytes) {
  const std::size_t start = out.size();
  out.resize(start + 2 * bytes.size());
  encode_hex(bytes, out.data() + start);
}

void append_traceparent(std::string& out, const TraceId& trace_id, const SpanId& span_id,
                        std::uint8_t flags) {
  const std::size_t start = out.size();
  out.resize(start + kTraceparentLength);
  write_traceparent(out.data() + start, trace_id, span_id, flags);
}

void write_traceparent(char* out, const TraceId& trace_id, const SpanId& span_id, std::uint8_t flags) {
  char* p = out;
  *p++ = '0';
  *p++ = '0';
  *p++ = '-';
  encode_hex(trace_id, p);
  p += 32;
  *p++ = '-';
  encode_hex(span_id, p);
  p += 16;
  *p++ = '-';
  const std::uint8_t sent_flags = flags & kTraceFlagSampled;
  encode_hex(std::span(&sent_flags, 1), p);
}

std::array<char, 32> trace_id_hex(const TraceId& trace_id) {
  std::array<char, 32> hex;  // NOLINT(cppcoreguidelines-pro-type-member-init): every byte written next
  encode_hex(trace_id, hex.data());
  return hex;
}

std::array<char, 16> span_id_hex(const SpanId& span_id) {
  std::array<char, 16> hex;  // NOLINT(cppcoreguidelines-pro-type-member-init): every byte written next
  encode_hex(span_id, hex.data());
  return hex;
}

}  // namespace flexgate::observe
