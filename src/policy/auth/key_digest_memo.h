#pragma once
// SHA-256 of presented API keys, remembered per thread. A client sends the same key on every
// request, and hashing it costs more than the rest of the auth check.

#include <string_view>

#include "policy/auth/request_signature.h"

namespace flexgate::policy {

// sha256(key), from this thread's memo when the key was seen lately. Entries are found by a
// 128-bit SipHash-2-4 tag under a per-thread random key (one an attacker can neither predict nor
// collide), so another key is never handed a remembered digest; the keys themselves are never
// stored. False only when hashing fails.
bool api_key_digest(std::string_view key, Sha256Digest& out);

}  // namespace flexgate::policy
