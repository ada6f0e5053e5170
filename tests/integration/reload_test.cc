// Hot reload through the real binary: the file watcher (a rewrite in place, an editor's
// rename-over, a Kubernetes-style ..data symlink swap), SIGHUP, an invalid file that keeps the
// old config serving, and reloads under load with no failed request.

#include <sys/syscall.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "integration/harness.h"
#include "integration/raw_message.h"

namespace flexgate::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string reply(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// A config whose only route answers from upstream `name` at `port`.
std::string config_for(const std::string& name, std::uint16_t port, int workers = 2) {
  return "proxy:\n  host: 127.0.0.1\n  port: 0\n  workers: " + std::to_string(workers) + "\n"
         "upstreams:\n  - name: " + name + "\n    url: \"http://127.0.0.1:" + std::to_string(port) + "\"\n"
         "routes:\n  - path: \"/*\"\n    upstream: " + name + "\n"
         "logging:\n  level: info\n";
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// Writes `text` to a temp file beside `path` and renames it over `path` (what editors do).
void replace_file(const fs::path& path, const std::string& text) {
  const fs::path temp = path.string() + ".tmp";
  write_file(temp, text);
  fs::rename(temp, path);
}

// Asks until a new connection is served by the expected upstream (each worker swaps snapshots
// when it gets to the posted swap).
bool eventually_body(std::uint16_t port, const std::string& body) {
  for (int attempt = 0; attempt < 200; ++attempt) {
    if (request(port, "GET", "/x").body == body) return true;
  }
  return false;
}

TEST(Reload, AFileRenamedOverTheConfigIsPickedUp) {
  ScriptedUpstream blue([](const std::string&) { return reply("blue"); });
  ScriptedUpstream green([](const std::string&) { return reply("green"); });
  auto gateway = start_gateway(config_for("blue", blue.port()));
  EXPECT_EQ(request(gateway.port, "GET", "/x").body, "blue");
  replace_file(gateway.config_path, config_for("green", green.port()));
  ASSERT_TRUE(gateway.process->wait_for_line("\"trigger\":\"file\""));
  EXPECT_TRUE(eventually_body(gateway.port, "green"));
}

// Between jobs the main thread sleeps in one ppoll() without a timeout: an idle gateway wakes
// for nothing (no polling tick), and a changed file is still reloaded (its directory's inotify
// descriptor is one of the things the wait is for).
TEST(Reload, AnIdleGatewaysMainThreadSleepsWithoutATimeoutAndStillSeesAChange) {
  ScriptedUpstream blue([](const std::string&) { return reply("blue"); });
  ScriptedUpstream green([](const std::string&) { return reply("green"); });
  auto gateway = start_gateway(config_for("blue", blue.port()));
  const std::string pid = std::to_string(gateway.process->pid());
  // The syscall the main thread (tid = pid) is blocked in, then its arguments; ppoll's third
  // argument is the timeout's address, 0 for none.
  std::string seen;
  const auto main_thread_waits_without_timeout = [&] {
    std::ifstream in("/proc/" + pid + "/task/" + pid + "/syscall");
    std::string number, fds, count, timeout;
    in >> number >> fds >> count >> timeout;
    seen = number + " " + fds + " " + count + " " + timeout;
    return number == std::to_string(SYS_ppoll) && timeout == "0x0";
  };
  EXPECT_TRUE(eventually(main_thread_waits_without_timeout)) << "the main thread is in: " << seen;
  replace_file(gateway.config_path, config_for("green", green.port()));
  ASSERT_TRUE(gateway.process->wait_for_line("\"trigger\":\"file\""));
  EXPECT_TRUE(eventually_body(gateway.port, "green"));
}

TEST(Reload, AnInvalidFileKeepsTheRunningConfigAndSaysWhy) {
  ScriptedUpstream blue([](const std::string&) { return reply("blue"); });
  auto gateway = start_gateway(config_for("blue", blue.port()));
  write_file(gateway.config_path, config_for("blue", blue.port()) + "routes: [oops\n");
  auto failed = gateway.process->wait_for_line("\"config_reload_failed\"");
  ASSERT_TRUE(failed.has_value());
  EXPECT_NE(failed->find(gateway.config_path + ":"), std::string::npos) << *failed;  // FILE:LINE:COL
  for (int i = 0; i < 5; ++i) EXPECT_EQ(request(gateway.port, "GET", "/x").body, "blue");
  const auto deep = request(gateway.port, "GET", "/health/deep").json();
  EXPECT_NE(deep["config"]["lastReloadError"].get<std::string>().find(gateway.config_path + ":"), std::string::npos);
  EXPECT_EQ(deep["config"]["version"], 1);
  EXPECT_EQ(metric_sample(scrape(gateway.port), "flexgate_config_reloads_total{result=\"failure\"}"), 1);
  // Fixing the file reloads it and clears the error.
  write_file(gateway.config_path, config_for("blue", blue.port()) + "# fixed\n");
  ASSERT_TRUE(gateway.process->wait_for_line("\"config_reloaded\""));
  for (int attempt = 0; attempt < 200; ++attempt) {
    if (!request(gateway.port, "GET", "/health/deep").json()["config"].contains("lastReloadError")) break;
  }
  EXPECT_FALSE(request(gateway.port, "GET", "/health/deep").json()["config"].contains("lastReloadError"));
}

TEST(Reload, AKubernetesConfigMapSymlinkSwapIsPickedUp) {
  // A ConfigMap volume: config.yml -> ..data/config.yml, ..data -> ..v1; an update writes ..v2 and
  // renames a new ..data symlink over the old one.
  ScriptedUpstream blue([](const std::string&) { return reply("blue"); });
  ScriptedUpstream green([](const std::string&) { return reply("green"); });
  const fs::path volume = fs::temp_directory_path() / ("flexgate-configmap-" + std::to_string(::getpid()));
  fs::remove_all(volume);
  fs::create_directories(volume / "..v1");
  write_file(volume / "..v1" / "config.yml", config_for("blue", blue.port()));
  fs::create_directory_symlink("..v1", volume / "..data");
  fs::create_symlink("..data/config.yml", volume / "config.yml");
  auto process = std::make_unique<ChildProcess>(
      std::vector<std::string>{FLEXGATE_BINARY, "run", "-c", (volume / "config.yml").string()});
  auto listening = process->wait_for_line("\"listening\"");
  ASSERT_TRUE(listening.has_value());
  const auto at = listening->find("\"port\":\"");
  const auto port = static_cast<std::uint16_t>(std::stoi(listening->substr(at + 8)));
  EXPECT_EQ(request(port, "GET", "/x").body, "blue");

  fs::create_directories(volume / "..v2");
  write_file(volume / "..v2" / "config.yml", config_for("green", green.port()));
  fs::create_directory_symlink("..v2", volume / "..data_tmp");
  fs::rename(volume / "..data_tmp", volume / "..data");
  ASSERT_TRUE(process->wait_for_line("\"trigger\":\"file\""));
  EXPECT_TRUE(eventually_body(port, "green"));
  process.reset();
  fs::remove_all(volume);
}

TEST(Reload, ReloadsUnderLoadFailNoRequest) {
  ScriptedUpstream blue([](const std::string&) { return reply("blue"); });
  auto gateway = start_gateway(config_for("blue", blue.port()));
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&] {
      // Keep-alive connections and new ones both: a reload must not fail either.
      while (!stop) {
        Connection connection(gateway.port);
        for (int i = 0; i < 20 && !stop; ++i) {
          if (!connection.send("GET /x HTTP/1.1\r\nHost: x\r\n\r\n")) break;
          auto response = connection.read_response();
          (response && response->status == 200 ? ok : failed)++;
          if (!response) break;
        }
      }
    });
  }
  for (int reload = 0; reload < 10; ++reload) {
    write_file(gateway.config_path, config_for("blue", blue.port()) + "# edit " + std::to_string(reload) + "\n");
    gateway.process->signal(SIGHUP);
    ASSERT_TRUE(gateway.process->wait_for_line("\"version\":\"" + std::to_string(reload + 2) + "\""));
  }
  stop = true;
  for (auto& client : clients) client.join();
  EXPECT_GT(ok.load(), 0);
  EXPECT_EQ(failed.load(), 0);
}

TEST(Reload, PooledConnectionsToUnchangedUpstreamsSurviveAReload) {
  ScriptedUpstream blue([](const std::string&) { return reply("blue"); });
  auto gateway = start_gateway(config_for("blue", blue.port(), /*workers=*/1));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(request(gateway.port, "GET", "/x").body, "blue");
  EXPECT_EQ(metric_sample(scrape(gateway.port), "flexgate_upstream_connections_opened_total{upstream=\"blue\"}"), 1);
  gateway.process->signal(SIGHUP);
  ASSERT_TRUE(gateway.process->wait_for_line("\"config_reloaded\""));
  for (int attempt = 0; attempt < 200; ++attempt) {
    if (request(gateway.port, "GET", "/health/deep").json()["config"]["version"] == 2) break;
  }
  for (int i = 0; i < 3; ++i) EXPECT_EQ(request(gateway.port, "GET", "/x").body, "blue");
  // The idle connection moved to the new snapshot's pool: no second connection was opened.
  EXPECT_EQ(metric_sample(scrape(gateway.port), "flexgate_upstream_connections_opened_total{upstream=\"blue\"}"), 1);
  EXPECT_EQ(blue.connections_accepted(), 1u);
}

}  // namespace
}  // namespace flexgate::testing
