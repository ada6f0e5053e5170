// Large bodies stream through with flat memory in both directions.

#include <dirent.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "integration/harness.h"
#include "integration/test_configs.h"

namespace flexgate::testing {
namespace {

// Peak resident memory of a process in KiB (VmHWM).
long peak_rss_kib(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

constexpr std::uint64_t kLarge = 1ull << 30;  // 1 GiB each way
// Far below the 1 GiB body; the baseline (worker, log-writer and admin threads, ASan shadow
// memory in make test-asan) is about 60 MiB under ASan.
constexpr long kFlatMemoryKib = 128 * 1024;

TEST(Streaming, LargeDownloadPassesWithFlatMemory) {
  auto echo = start_echo_server();
  auto gateway = start_gateway(gateway_config(echo.port, kCatchAllRoute, "  workers: 1\n  timeout: 120s\n"));
  Connection connection(gateway.port);
  connection.send("GET /bytes/" + std::to_string(kLarge) + " HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  // Count the bytes instead of keeping them.
  std::uint64_t received = 0;
  char chunk[1 << 16];
  for (;;) {
    ssize_t n = ::recv(connection.fd(), chunk, sizeof(chunk), 0);
    if (n <= 0) break;
    received += static_cast<std::uint64_t>(n);
  }
  EXPECT_GT(received, kLarge);
  EXPECT_LT(received, kLarge + 1024);
  EXPECT_LT(peak_rss_kib(gateway.process->pid()), kFlatMemoryKib);
}

TEST(Streaming, LargeUploadPassesWithFlatMemory) {
  auto echo = start_echo_server();
  auto gateway = start_gateway(gateway_config(echo.port, kCatchAllRoute, "  workers: 1\n  timeout: 120s\n  maxBodySize: 1gb\n"));
  Connection connection(gateway.port);
  ASSERT_TRUE(connection.send("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::to_string(kLarge) + "\r\n\r\n"));
  std::string block(1 << 16, 'u');
  for (std::uint64_t sent = 0; sent < kLarge; sent += block.size()) ASSERT_TRUE(connection.send(block));
  auto response = connection.read_response(false, 60s);
  ASSERT_TRUE(response);
  EXPECT_EQ(response->json()["bodySize"], kLarge);
  EXPECT_LT(peak_rss_kib(gateway.process->pid()), kFlatMemoryKib);
}

TEST(Streaming, StalledReaderHoldsNoBodyInMemoryAndOthersAreServed) {
  auto echo = start_echo_server();
  auto gateway = start_gateway(gateway_config(echo.port, kCatchAllRoute, "  workers: 1\n  timeout: 120s\n"));
  Connection stalled(gateway.port);
  stalled.send("GET /bytes/" + std::to_string(256ull << 20) + " HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  char chunk[1 << 16];
  ASSERT_EQ(::recv(stalled.fd(), chunk, 1, 0), 1);
  // While this client reads nothing, the same single worker keeps serving others: the stalled
  // stream waits on the socket instead of buffering the body.
  for (int i = 0; i < 20; ++i) ASSERT_EQ(request(gateway.port, "GET", "/bytes/100000").body.size(), 100000u);
  EXPECT_LT(peak_rss_kib(gateway.process->pid()), kFlatMemoryKib);
  std::uint64_t received = 1;
  for (;;) {
    ssize_t n = ::recv(stalled.fd(), chunk, sizeof(chunk), 0);
    if (n <= 0) break;
    received += static_cast<std::uint64_t>(n);
  }
  EXPECT_GT(received, 256ull << 20);
  EXPECT_LT(peak_rss_kib(gateway.process->pid()), kFlatMemoryKib);
}

// Open pipes of a process (the descriptors /proc names "pipe:[…]").
int open_pipes(int pid) {
  const std::string dir_path = "/proc/" + std::to_string(pid) + "/fd";
  DIR* dir = ::opendir(dir_path.c_str());
  if (dir == nullptr) return -1;
  int pipes = 0;
  std::array<char, 64> target{};
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    const ssize_t n = ::readlink((dir_path + "/" + entry->d_name).c_str(), target.data(), target.size() - 1);
    if (n > 0 && std::string_view(target.data(), static_cast<std::size_t>(n)).rfind("pipe:", 0) == 0) ++pipes;
  }
  ::closedir(dir);
  return pipes;
}

// A large Content-Length body between plain sockets goes by splice(2) through a kernel pipe: a
// stalled reader leaves its bytes waiting in the pipe, and what arrives is byte for byte the
// upstream's body.
TEST(Streaming, ALargeBodyGoesThroughAKernelPipeByteExact) {
  auto echo = start_echo_server();
  auto gateway = start_gateway(gateway_config(echo.port, kCatchAllRoute, "  workers: 1\n  timeout: 120s\n"));
  const int pid = gateway.process->pid();
  const int pipes_before = open_pipes(pid);  // stdout and stderr: no body has needed one yet
  Connection stalled(gateway.port);
  stalled.send("GET /bytes/" + std::to_string(256ull << 20) + " HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  char byte = 0;
  ASSERT_EQ(::recv(stalled.fd(), &byte, 1, 0), 1);
  // The stalled body's bytes wait in the pipe, which is in use (not a spare) until it ends.
  EXPECT_TRUE(eventually([&] { return open_pipes(pid) > pipes_before; }))
      << open_pipes(pid) << " pipes open, " << pipes_before << " before";

  // Meanwhile another large body, byte for byte the upstream's.
  const std::string path = "/bytes/" + std::to_string(3u << 20);
  const std::string direct = request(echo.port, "GET", path).body;
  ASSERT_EQ(direct.size(), 3u << 20);
  EXPECT_TRUE(request(gateway.port, "GET", path).body == direct) << "the spliced body differs from the upstream's";
}

}  // namespace
}  // namespace flexgate::testing
