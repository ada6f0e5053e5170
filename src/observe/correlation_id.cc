#include "observe/correlation_id.h"

#include <cstdint>
#include <random>

#include "core/hex.h"

namespace flexgate::observe {

bool is_sane_correlation_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxCorrelationIdLength) return false;
  for (unsigned char c : id) {
    if (c < 0x21 || c > 0x7e || c == '"' || c == '\\') return false;
  }
  return true;
}

namespace {

struct IdState {
  std::uint64_t prefix;
  std::uint64_t counter;
  IdState() {
    std::random_device device;
    prefix = (static_cast<std::uint64_t>(device()) << 32) ^ device();
    counter = (static_cast<std::uint64_t>(device()) << 32) ^ device();
  }
};

// splitmix64: spreads consecutive counters so IDs do not look sequential.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

void generate_correlation_id(std::string& out) {
  thread_local IdState state;
  char id[32];
  encode_hex_u64(state.prefix, id);
  // mix() is a bijection, so distinct counters give distinct suffixes: unique per thread.
  encode_hex_u64(mix(state.counter++), id + 16);
  out.assign(id, sizeof id);  // one copy: the per-character appends cost more than the id
}

}  // namespace flexgate::observe
