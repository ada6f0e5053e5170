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
    SipHash128 tag;
    Sha256Digest digest{};
  };
  SipKey key = SipKey::random();
  std::array<Entry, 64> entries{};
};

}  // namespace

bool api_key_digest(std::string_view key, Sha256Digest& out) {
  thread_local DigestMemo memo;
  const SipHash128 tag = siphash24_128(memo.key, key);
  DigestMemo::Entry& entry = memo.entries[tag.low % memo.entries.size()];
  if (entry.used && entry.tag == tag) {
    out = entry.digest;
    return true;
  }
  if (!sha256(key, out)) return false;
  entry = DigestMemo::Entry{true, tag, out};
  return true;
}

}  // namespace flexgate::policy
