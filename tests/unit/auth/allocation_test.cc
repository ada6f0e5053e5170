// The hot path of a plain API-key check must not allocate (C++ heap; OpenSSL's own small context
// allocation inside the digest is outside this count). Counting replaces the global operator new
// for this whole test binary; it only counts and forwards to malloc.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "auth_test_util.h"
#include "policy/auth/auth_policy.h"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  std::abort();  // tests only: no recovery from exhaustion
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace flexgate::policy {
namespace {

TEST(Allocation, ValidApiKeyCheckDoesNotAllocate) {
  const AuthPolicy policy = AuthPolicy::build(
      testing::auth_config({testing::api_key("alice-secret-key-0001", "a-rather-long-client-name")}));
  const auto route = testing::route_with(std::nullopt);
  testing::TestRequest request;
  request.header("Accept", "*/*").header("X-API-Key", "alice-secret-key-0001");
  const RequestView view = request.view();
  std::string_view client;
  ASSERT_TRUE(policy.check(view, route, client, testing::kNow).allowed);  // warm up (thread-local context)

  const long before = g_allocations.load();
  for (int i = 0; i < 100; ++i) {
    const Verdict verdict = policy.check(view, route, client, testing::kNow);
    ASSERT_TRUE(verdict.allowed);
  }
  EXPECT_EQ(g_allocations.load() - before, 0);
  EXPECT_EQ(client, "a-rather-long-client-name");
}

}  // namespace
}  // namespace flexgate::policy
