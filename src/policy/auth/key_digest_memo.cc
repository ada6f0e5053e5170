#include "policy/auth/key_digest_memo.h"

#include <array>
#include <cstdint>

#include "core/siphash.h"

namespace flexgate::policy {
namespace {

// 64 slots, direct-mapped: a handful of clients per worker is the common case; more only evict.
struct DigestMemo {
  struct Entry {
    bool used = false;
    std::uint64_t tag_a = 0;
    std::uint64_t tag_b = 0;
    Sha256Digest digest{};
  };
  SipKey key_a = SipKey::random();
  SipKey key_b = SipKey::random();
  std::array<Entry, 64> entries{};
};

}  // namespace

bool api_key_digest(std::string_view key, Sha256Digest& out) {
  thread_local DigestMemo memo;
  const std::uint64_t tag_a = siphash24(memo.key_a, key);
  const std::uint64_t tag_b = siphash24(memo.key_b, key);
  DigestMemo::Entry& entry = memo.entries[tag_a % memo.entries.size()];
  if (entry.used && entry.tag_a == tag_a && entry.tag_b == tag_b) {
    out = entry.digest;
    return true;
  }
  if (!sha256(key, out)) return false;
  entry = DigestMemo::Entry{true, tag_a, tag_b, out};
  return true;
}

}  // namespace flexgate::policy
